#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Blocking file primitives used by `FilesystemDriver`; always called from a thread pool.
enum POSIXFiles {
    static func error(_ op: String, _ path: String, _ code: Int32 = errno) -> StorageError {
        if code == ENOENT || code == ENOTDIR { return .notFound(path) }
        if code == EROFS { return .readOnly("\(op) \(path): \(String(cString: strerror(code)))") }
        if code == ENOSPC || code == EDQUOT { return .full("\(op) \(path): \(String(cString: strerror(code)))") }
        return .io("\(op) \(path): \(String(cString: strerror(code)))")
    }

    /// Why writes under `path` would fail now (a read-only mount, no space or inodes left
    /// below `minimumFree` bytes), or nil.
    static func writeProblem(_ path: String, minimumFree: UInt64) -> StorageError? {
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return nil }
        if fs.f_flag & UInt(ST_RDONLY) != 0 { return .readOnly("the file system holding the storage is mounted read-only") }
        if access(path, W_OK) != 0, errno == EROFS || errno == EACCES || errno == EPERM {
            return .readOnly("the storage root is not writable by this process (\(String(cString: strerror(errno))))")
        }
        let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
        if free < minimumFree { return .full("\(free / 1024) KiB free of \(UInt64(fs.f_blocks) * UInt64(fs.f_frsize) / 1024) KiB") }
        if fs.f_files > 0, fs.f_favail == 0 { return .full("no inodes left") }
        return nil
    }

    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0, errno != EEXIST {
                throw error("mkdir", current)
            }
        }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    static func info(_ path: String) throws -> StorageFileInfo {
        var st = Glibc.stat()
        guard stat(path, &st) == 0 else { throw error("stat", path) }
        let isDir = (st.st_mode & S_IFMT) == S_IFDIR
        let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        return StorageFileInfo(size: Int64(st.st_size), modifiedAt: mtime, isDirectory: isDir)
    }

    static func readAll(_ path: String, maxSize: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error("open", path) }
        defer { close(fd) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else { throw error("fstat", path) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw StorageError.notFound(path) }
        guard st.st_size <= maxSize else { throw StorageError.io("\(path) is larger than \(maxSize) bytes") }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < out.count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw error("read", path)
            }
            if n == 0 { out.removeLast(out.count - done); break }
            done += n
        }
        return out
    }

    static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write", path)
            }
            done += n
        }
    }

    /// Writes `content` to a fresh temporary file, fsyncs it and renames it over `path`.
    static func atomicWrite(_ content: [UInt8], to path: String, temporary: String, mode: mode_t = 0o644) throws {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw error("create", temporary) }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        do {
            try content.withUnsafeBytes { (bytes) throws in
                try writeFully(fd, bytes, at: 0, path: temporary)
            }
            guard fsync(fd) == 0 else { throw error("fsync", temporary) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        try rename(temporary, to: path)
        ok = true
    }

    /// As `atomicWrite`, but only if `path` does not exist: the complete temporary file is
    /// hard-linked into place, which fails when something is already there.
    static func exclusiveWrite(_ content: [UInt8], to path: String, temporary: String, mode: mode_t) throws -> Bool {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw error("create", temporary) }
        defer { unlink(temporary) }
        do {
            try content.withUnsafeBytes { (bytes) throws in try writeFully(fd, bytes, at: 0, path: temporary) }
            guard fsync(fd) == 0 else { throw error("fsync", temporary) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        if link(temporary, path) != 0 {
            if errno == EEXIST { return false }
            guard errno == ENOENT, !parent.isEmpty else { throw error("link", path) }
            try makeDirectories(parent)
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { return false }
                throw error("link", path)
            }
        }
        syncDirectory(parent.isEmpty ? "/" : parent)
        return true
    }

    static func rename(_ from: String, to: String) throws {
        let parent = String(to[..<(to.lastIndex(of: "/") ?? to.endIndex)])
        if Glibc.rename(from, to) != 0 {
            guard errno == ENOENT, !parent.isEmpty else { throw error("rename", from) }
            // The destination's directory may not exist yet.
            guard Glibc.access(from, F_OK) == 0 else { throw StorageError.notFound(from) }
            try makeDirectories(parent)
            guard Glibc.rename(from, to) == 0 else { throw error("rename", from) }
        }
        syncDirectory(parent.isEmpty ? "/" : parent)
    }

    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw error("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names.sorted()
    }

    static func removeTree(_ path: String) throws {
        var st = Glibc.stat()
        guard lstat(path, &st) == 0 else { throw error("lstat", path) }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) {
                do { try removeTree(path + "/" + name) } catch StorageError.notFound { }
            }
            if rmdir(path) != 0, errno != ENOENT { throw error("rmdir", path) }
        } else if unlink(path) != 0, errno != ENOENT {
            throw error("unlink", path)
        }
    }
}
