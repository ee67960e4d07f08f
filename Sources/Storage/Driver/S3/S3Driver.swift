import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Stores files as objects of an S3 bucket under Distribution's key layout
/// (`<rootdirectory>/docker/registry/v2/...`), so Distribution's `s3` driver and Berth
/// can serve one bucket. Writes go through multipart uploads (`S3Writer`).
public final class S3Driver: StorageDriver {
    let client: S3Client
    public var name: String { "s3" }
    /// ListObjectsV2 and DeleteObjects take at most 1,000 keys a request.
    static let listMax = 1000

    public init(configuration: S3Configuration, logger: Logger = Logger(label: "berth.s3")) throws {
        try configuration.validate()
        client = S3Client(configuration: configuration, logger: logger)
    }

    var configuration: S3Configuration { client.configuration }

    /// Headers every object write carries: content type, ACL, encryption, storage class.
    var objectHeaders: [(String, String)] {
        var headers: [(String, String)] = [("content-type", "application/octet-stream"), ("x-amz-acl", configuration.objectACL)]
        if configuration.encrypt {
            headers.append(("x-amz-server-side-encryption", configuration.keyID == nil ? "AES256" : "aws:kms"))
            if let key = configuration.keyID { headers.append(("x-amz-server-side-encryption-aws-kms-key-id", key)) }
        }
        if let storageClass = configuration.storageClass, storageClass != "NONE" {
            headers.append(("x-amz-storage-class", storageClass))
        }
        return headers
    }

    /// Runs an S3 call, turning "no such key" into the driver's `notFound` for `path`.
    func mapped<T>(_ path: StoragePath, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as S3Failure where failure.isNotFound {
            throw StorageError.notFound(path.description)
        } catch let failure as S3Failure where failure.isRetryable {
            throw StorageError.unavailable(failure.description)
        } catch let failure as S3Failure {
            throw StorageError.io(failure.description)
        } catch let error where S3Client.isTransient(error) {
            throw StorageError.unavailable("S3 at \(client.endpoint.base): \(error)")
        } catch is NIOTooManyBytesError {
            throw StorageError.io("\(path) is larger than the size asked for")
        }
    }

    public func getContent(_ path: StoragePath, maxSize: Int) async throws -> [UInt8] {
        try await mapped(path) {
            let response = try await client.send(.GET, key: client.key(path), maxResponse: maxSize)
            return response.body
        }
    }

    public func putContent(_ path: StoragePath, _ content: [UInt8]) async throws {
        _ = try await mapped(path) {
            try await client.send(.PUT, key: client.key(path), headers: objectHeaders, body: ByteBuffer(bytes: content))
        }
    }

    public func createContent(_ path: StoragePath, _ content: [UInt8], privately: Bool) async throws -> Bool {
        try await mapped(path) {
            do {
                _ = try await client.send(.PUT, key: client.key(path), headers: objectHeaders + [("if-none-match", "*")],
                                          body: ByteBuffer(bytes: content))
                return true
            } catch let failure as S3Failure where failure.isPreconditionFailed {
                return false
            }
        }
    }

    struct ObjectHead {
        var size: Int64
        var modifiedAt: Double
        var etag: String?
        var meta: HTTPHeaders
    }

    /// HEAD of one object; nil when there is none.
    func head(_ key: String) async throws -> ObjectHead? {
        do {
            let response = try await client.send(.HEAD, key: key)
            let size = response.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0
            let modified = response.headers.first(name: "last-modified").flatMap(Self.httpDate)?.timeIntervalSince1970 ?? 0
            return ObjectHead(size: size, modifiedAt: modified, etag: response.etag, meta: response.headers)
        } catch let failure as S3Failure where failure.isNotFound {
            return nil
        }
    }

    public func stat(_ path: StoragePath) async throws -> StorageFileInfo {
        try await mapped(path) {
            let key = client.key(path)
            if !path.components.isEmpty, let object = try await head(key) {
                return StorageFileInfo(size: object.size, modifiedAt: object.modifiedAt, isDirectory: false)
            }
            let page = try await listPage(prefix: directoryPrefix(path), delimiter: nil, maxKeys: 1, token: nil)
            guard let first = page.objects.first else { throw StorageError.notFound(path.description) }
            return StorageFileInfo(size: 0, modifiedAt: first.modifiedAt, isDirectory: true)
        }
    }

    func directoryPrefix(_ path: StoragePath) -> String {
        path.components.isEmpty ? client.rootPrefix : client.key(path) + "/"
    }

    struct ListedObject {
        var key: String
        var size: Int64
        var modifiedAt: Double
    }

    struct ListPage {
        var objects: [ListedObject]
        var prefixes: [String]
        var next: String?
    }

    func listPage(prefix: String, delimiter: String?, maxKeys: Int = listMax, token: String?) async throws -> ListPage {
        var query: [(String, String)] = [("list-type", "2"), ("prefix", prefix), ("max-keys", String(maxKeys))]
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let token { query.append(("continuation-token", token)) }
        let response = try await client.send(.GET, key: "", query: query)
        guard let xml = response.xml else { throw StorageError.io("S3 list \(prefix): unreadable response") }
        let objects = xml.all("Contents").map { entry in
            ListedObject(key: entry["Key"] ?? "", size: Int64(entry["Size"] ?? "") ?? 0,
                         modifiedAt: entry["LastModified"].flatMap(Self.isoDate)?.timeIntervalSince1970 ?? 0)
        }
        let prefixes = xml.all("CommonPrefixes").compactMap { $0["Prefix"] }
        let truncated = xml["IsTruncated"] == "true"
        return ListPage(objects: objects, prefixes: prefixes, next: truncated ? xml["NextContinuationToken"] : nil)
    }

    /// Every key under `prefix`, page by page.
    func allKeys(prefix: String) async throws -> [String] {
        var keys: [String] = []
        var token: String?
        repeat {
            let page = try await listPage(prefix: prefix, delimiter: nil, token: token)
            keys += page.objects.map(\.key)
            token = page.next
        } while token != nil
        return keys
    }

    public func list(_ path: StoragePath) async throws -> [String] {
        try await mapped(path) {
            let prefix = directoryPrefix(path)
            var names = Set<String>()
            var token: String?
            repeat {
                let page = try await listPage(prefix: prefix, delimiter: "/", token: token)
                for object in page.objects where object.key.count > prefix.count {
                    names.insert(String(object.key.dropFirst(prefix.count)))
                }
                for sub in page.prefixes where sub.count > prefix.count {
                    names.insert(String(sub.dropFirst(prefix.count).dropLast()))
                }
                token = page.next
            } while token != nil
            guard !names.isEmpty || path.components.isEmpty else { throw StorageError.notFound(path.description) }
            return names.sorted()
        }
    }

    /// Every request costs time and money: indexes live as objects (see `CatalogMarkers`).
    public var walksCheaply: Bool { false }

    /// One flat listing, 1,000 keys a request.
    public func listFiles(under path: StoragePath) async throws -> [String] {
        let prefix = directoryPrefix(path)
        return try await allKeys(prefix: prefix).map { String($0.dropFirst(prefix.count)) }.sorted()
    }

    public func move(from source: StoragePath, to destination: StoragePath) async throws {
        try await mapped(source) {
            let from = client.key(source), to = client.key(destination)
            guard let object = try await head(from) else { throw StorageError.notFound(source.description) }
            try await copy(from: from, size: object.size, to: to)
            _ = try await client.send(.DELETE, key: from)
        }
    }

    /// CopyObject below the multipart-copy threshold, else concurrent UploadPartCopy calls.
    func copy(from: String, size: Int64, to: String) async throws {
        let source = "/" + configuration.bucket + "/" + SigV4Signer.uriEncode(from, keepSlash: true)
        if size <= Int64(configuration.multipartCopyThresholdSize) {
            let response = try await client.send(.PUT, key: to, headers: objectHeaders + [("x-amz-copy-source", source)])
            // CopyObject can fail after answering 200: the error is then in the body.
            if let xml = response.xml, xml.name == "Error" {
                throw S3Failure(method: "COPY", key: to, status: 500, code: xml["Code"] ?? "InternalError", message: xml["Message"] ?? "")
            }
            return
        }
        let uploadID = try await createMultipartUpload(to)
        do {
            let chunk = Int64(configuration.multipartCopyChunkSize)
            let count = Int((size + chunk - 1) / chunk)
            var etags = [String](repeating: "", count: count)
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var next = 0
                func add() {
                    let index = next, start = Int64(index) * chunk, end = min(start + chunk, size) - 1
                    next += 1
                    group.addTask {
                        let response = try await self.client.send(.PUT, key: to,
                            query: [("partNumber", String(index + 1)), ("uploadId", uploadID)],
                            headers: [("x-amz-copy-source", source), ("x-amz-copy-source-range", "bytes=\(start)-\(end)")])
                        guard let etag = response.xml?["ETag"] else { throw StorageError.io("S3 UploadPartCopy \(to): no ETag") }
                        return (index, etag)
                    }
                }
                while next < min(count, configuration.multipartCopyMaxConcurrency) { add() }
                while let (index, etag) = try await group.next() {
                    etags[index] = etag
                    if next < count { add() }
                }
            }
            try await completeMultipartUpload(to, uploadID, parts: etags.enumerated().map { ($0.offset + 1, $0.element) })
        } catch {
            _ = try? await client.send(.DELETE, key: to, query: [("uploadId", uploadID)])
            throw error
        }
    }

    public func delete(_ path: StoragePath) async throws {
        try await mapped(path) {
            let key = client.key(path)
            var keys = try await allKeys(prefix: directoryPrefix(path))
            if !path.components.isEmpty, try await head(key) != nil { keys.append(key) }
            // Uploads in progress under the path are billed and invisible: abort them too.
            let aborted = try await abortMultipartUploads(under: path.components.isEmpty ? nil : key)
            guard !keys.isEmpty || aborted > 0 else { throw StorageError.notFound(path.description) }
            for start in stride(from: 0, to: keys.count, by: Self.listMax) {
                try await deleteObjects(Array(keys[start..<min(start + Self.listMax, keys.count)]))
            }
        }
    }

    func deleteObjects(_ keys: [String]) async throws {
        let body = "<Delete><Quiet>true</Quiet>" + keys.map { "<Object><Key>\(S3XML.escape($0))</Key></Object>" }.joined() + "</Delete>"
        let bytes = Array(body.utf8)
        let md5 = Data(Insecure.MD5.hash(data: bytes)).base64EncodedString()
        let response = try await client.send(.POST, key: "", query: [("delete", "")],
                                             headers: [("content-md5", md5), ("content-type", "application/xml")],
                                             body: ByteBuffer(bytes: bytes))
        if let failed = response.xml?.all("Error").first {
            throw StorageError.io("S3 DeleteObjects \(failed["Key"] ?? ""): \(failed["Code"] ?? "") \(failed["Message"] ?? "")")
        }
    }

    public func read(_ path: StoragePath, range: Range<Int64>?, into consumer: (ByteBuffer) async throws -> Void) async throws {
        if let range, range.isEmpty {
            _ = try await stat(path)
            return
        }
        var headers: [(String, String)] = []
        if let range { headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")) }
        try await mapped(path) {
            do {
                _ = try await client.stream(key: client.key(path), headers: headers, into: consumer)
            } catch let failure as S3Failure where failure.status == 416 {
                // A range starting at or past the end: nothing to read, as a short file read.
            }
        }
    }

    public func writer(_ path: StoragePath, at offset: Int64?) async throws -> any StorageWriter {
        try await mapped(path) { try await S3Writer.open(self, path, at: offset) }
    }

    public func writtenSize(_ path: StoragePath) async throws -> Int64 {
        try await mapped(path) {
            guard let state = try await S3Writer.State.load(self, client.key(path)) else {
                throw StorageError.notFound(path.description)
            }
            return state.size
        }
    }

    /// A presigned URL for a blob GET or HEAD, as Distribution's `RedirectURL`.
    public func redirectURL(_ path: StoragePath, method: String) async throws -> String? {
        guard method == "GET" || method == "HEAD" else { return nil }
        return try await client.presignedURL(method: method, key: client.key(path), expires: configuration.redirectExpiry)
    }

    // MARK: multipart uploads

    func createMultipartUpload(_ key: String) async throws -> String {
        let response = try await client.send(.POST, key: key, query: [("uploads", "")], headers: objectHeaders)
        guard let id = response.xml?["UploadId"], !id.isEmpty else { throw StorageError.io("S3 CreateMultipartUpload \(key): no UploadId") }
        return id
    }

    func completeMultipartUpload(_ key: String, _ uploadID: String, parts: [(Int, String)]) async throws {
        let body = "<CompleteMultipartUpload>" + parts.map {
            "<Part><PartNumber>\($0.0)</PartNumber><ETag>\(S3XML.escape($0.1))</ETag></Part>"
        }.joined() + "</CompleteMultipartUpload>"
        let response = try await client.send(.POST, key: key, query: [("uploadId", uploadID)],
                                             headers: [("content-type", "application/xml")], body: ByteBuffer(string: body))
        if let xml = response.xml, xml.name == "Error" {
            throw S3Failure(method: "CompleteMultipartUpload", key: key, status: 500, code: xml["Code"] ?? "InternalError", message: xml["Message"] ?? "")
        }
    }

    struct MultipartUpload {
        var key: String
        var uploadID: String
    }

    func multipartUploads(prefix: String) async throws -> [MultipartUpload] {
        var uploads: [MultipartUpload] = []
        var keyMarker: String?, idMarker: String?
        while true {
            var query: [(String, String)] = [("uploads", ""), ("prefix", prefix)]
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let idMarker { query.append(("upload-id-marker", idMarker)) }
            guard let xml = try await client.send(.GET, key: "", query: query).xml else { break }
            uploads += xml.all("Upload").compactMap { entry in
                guard let key = entry["Key"], let id = entry["UploadId"] else { return nil }
                return MultipartUpload(key: key, uploadID: id)
            }
            guard xml["IsTruncated"] == "true" else { break }
            keyMarker = xml["NextKeyMarker"]
            idMarker = xml["NextUploadIdMarker"]
        }
        return uploads
    }

    /// Aborts the uploads of `key` and of every key below it (of the whole root when nil).
    func abortMultipartUploads(under key: String?) async throws -> Int {
        let uploads = try await multipartUploads(prefix: key ?? client.rootPrefix)
            .filter { key == nil || $0.key == key || $0.key.hasPrefix(key! + "/") }
        for upload in uploads {
            _ = try? await client.send(.DELETE, key: upload.key, query: [("uploadId", upload.uploadID)])
        }
        return uploads.count
    }

    // MARK: dates

    static func isoDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
