#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import OCI

/// A blob being fetched, kept in an unlinked local file so that every client reading it
/// meanwhile can stream it at its own pace while the fetch goes on at the upstream's. The
/// file has no name (nothing is left behind by a crash) and is closed with its last reader.
final class Spool: Sendable {
    private let fd: Int32

    init(directory: String) throws {
        var template = Array("\(directory)/berth-mirror-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw RegistryError(.unavailable, message: "cannot create a spool file in \(directory): \(String(cString: strerror(errno)))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Writes `buffers` one after the other from `offset`, in one trip to the thread pool.
    func write(_ buffers: [ByteBuffer], at offset: Int64) async throws {
        let fd = self.fd
        try await NIOThreadPool.singleton.runIfActive {
            var position = off_t(offset)
            for buffer in buffers {
                try buffer.withUnsafeReadableBytes { bytes in
                    var done = 0
                    while done < bytes.count {
                        let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, position + off_t(done))
                        if n < 0 {
                            if errno == EINTR { continue }
                            throw RegistryError(.unavailable, message: "spool write failed: \(String(cString: strerror(errno)))")
                        }
                        done += n
                    }
                }
                position += off_t(buffer.readableBytes)
            }
        }
    }

    func read(at offset: Int64, count: Int) async throws -> ByteBuffer {
        let fd = self.fd
        return try await NIOThreadPool.singleton.runIfActive {
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
                var done = 0
                while done < count {
                    let n = pread(fd, bytes.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw RegistryError(.unavailable, message: "spool read failed: \(String(cString: strerror(errno)))")
                    }
                    if n == 0 { break }
                    done += n
                }
                return done
            }
            guard read == count else { throw RegistryError(.unavailable, message: "spool read came up short") }
            return buffer
        }
    }
}
