import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a password from standard input (`--password-stdin`, one line) or, on a terminal,
/// from a prompt that does not echo; never from the command line, where it would stay in
/// the shell history and the process list.
enum PasswordInput {
    static func read(fromStandardInput: Bool, confirm: Bool = true) throws -> String {
        if fromStandardInput {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("no password on standard input") }
            return line
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw ValidationError("standard input is not a terminal: pass the password with --password-stdin")
        }
        let password = try prompt("Password: ")
        if confirm, try prompt("Again: ") != password { throw ValidationError("the passwords differ") }
        return password
    }

    private static func prompt(_ text: String) throws -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("empty password") }
        return line
    }
}
