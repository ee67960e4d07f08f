import Foundation
import NIOPosix

/// Runs a program the way docker_auth's `ext_auth`/`ext_authz` do: input on standard input,
/// the verdict in the exit status, labels on standard output. A program that runs longer
/// than `timeout` is killed and reported as an error; at most `concurrency` run at once,
/// so a burst of logins cannot exhaust the machine's processes.
public struct ExternalProgram: Sendable {
    public let command: String
    public let arguments: [String]
    public let timeout: Duration
    let slots: ProgramSlots

    public struct Outcome: Sendable {
        public var status: Int32
        public var output: [UInt8]
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(command: String, arguments: [String] = [], timeout: Duration = .seconds(10), concurrency: Int = 16) throws(AuthError) {
        let resolved: String? = if command.contains("/") {
            FileManager.default.isExecutableFile(atPath: command) ? command : nil
        } else {
            (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
                .map { "\($0)/\(command)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        guard let resolved else { throw AuthError.configuration("external program \(command) not found or not executable") }
        self.command = resolved
        self.arguments = arguments
        self.timeout = timeout
        slots = ProgramSlots(count: concurrency)
    }

    public func run(input: [UInt8]) async throws -> Outcome {
        await slots.acquire()
        defer { Task { await slots.release() } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { throw Failure(description: "cannot start \(command): \(error)") }
        let deadline = ContinuousClock.now + timeout
        // Blocking pipe I/O and the wait happen on the thread pool, never on an event loop.
        // Reading stops at the deadline even if a child of the program keeps the pipe open.
        let (output, timedOut) = try await NIOThreadPool.singleton.runIfActive { () -> ([UInt8], Bool) in
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input))
            try? stdin.fileHandleForWriting.close()
            let fd = stdout.fileHandleForReading.fileDescriptor
            var output: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            var timedOut = false
            while true {
                let remaining = deadline - ContinuousClock.now
                if remaining <= .zero {
                    timedOut = true
                    break
                }
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, Int32(min(remaining.components.seconds * 1000 + 1, 100)))
                if ready < 0, errno != EINTR { break }
                if ready <= 0 { continue }
                let count = read(fd, &buffer, buffer.count)
                if count <= 0 { break }
                if output.count < 64 * 1024 { output += buffer[0..<count] }
            }
            if timedOut, process.isRunning {
                kill(-process.processIdentifier, SIGKILL)
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            return (output, timedOut)
        }
        if timedOut { throw Failure(description: "\(command) did not answer within \(timeout)") }
        if process.terminationReason == .uncaughtSignal {
            throw Failure(description: "\(command) was killed (signal \(process.terminationStatus)) after at most \(timeout)")
        }
        return Outcome(status: process.terminationStatus, output: output)
    }
}

/// A counting semaphore for async callers.
actor ProgramSlots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
