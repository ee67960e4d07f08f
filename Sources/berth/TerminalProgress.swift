import Foundation

/// One self-overwriting status line on stderr when it is a terminal; nothing when piped,
/// so scripts and logs see only the final report.
final class TerminalProgress: @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private var lastDraw = 0.0
    private var drawn = false

    init(enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.enabled = enabled
    }

    func update(_ label: String, _ done: Int, _ total: Int?, force: Bool = false) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date().timeIntervalSince1970
        guard force || now - lastDraw >= 0.1 else { return }
        lastDraw = now
        var line = "\(label): \(done)"
        if let total, total > 0 {
            let width = 30
            let filled = min(width, done * width / total)
            line = "\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(done)/\(total)"
        }
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
        drawn = true
    }

    func finish() {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        drawn = false
    }
}

