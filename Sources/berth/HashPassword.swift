import ArgumentParser
import Auth
import Foundation

struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Print a bcrypt hash for auth_config.yml users or an htpasswd file.",
        discussion: "Reads the password from standard input when it is not given, so it stays out of shell history.")

    @Option(help: "bcrypt cost (4-31).")
    var cost: UInt8 = 10

    @Argument(help: "The password (better: pipe it on standard input).")
    var password: String?

    @Flag(help: "Read the password from standard input (what happens anyway without the argument; as `user add` takes it).")
    var passwordStdin = false

    func validate() throws {
        guard (4...31).contains(cost) else { throw ValidationError("--cost must be between 4 and 31") }
        if passwordStdin, password != nil { throw ValidationError("give the password as an argument or with --password-stdin, not both") }
    }

    func run() throws {
        let secret = password ?? (readLine(strippingNewline: true) ?? "")
        guard !secret.isEmpty else { throw ValidationError("empty password") }
        print(PasswordHash.make(secret, cost: cost))
    }
}
