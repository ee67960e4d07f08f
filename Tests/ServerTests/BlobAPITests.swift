import HTTPTypes
import HummingbirdTesting
import OCI
import Storage
import Testing

@Suite struct BlobAPITests {
    @Test func pingCarriesTheAPIVersionEverywhere() async throws {
        try await APIFixture().run { c, _ in
            let ping = try await c.send(.get, "/v2/")
            #expect(ping.status == .ok)
            #expect(ping.text == "{}")
            #expect(ping.header("Docker-Distribution-API-Version") == "registry/2.0")
            let missing = try await c.send(.get, "/v2/a/blobs/sha256:" + String(repeating: "0", count: 64))
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "BLOB_UNKNOWN")
            #expect(missing.header("Docker-Distribution-API-Version") == "registry/2.0")
        }
    }

    @Test func monolithicPushThenRangesAndConditionalGets() async throws {
        try await APIFixture().run { c, _ in
            let bytes = Array("hello world".utf8)
            let digest = try await c.pushBlob("r/a", bytes)
            let get = try await c.send(.get, "/v2/r/a/blobs/\(digest)")
            #expect(get.status == .ok)
            #expect(get.text == "hello world")
            #expect(get.header("Docker-Content-Digest") == digest.description)
            #expect(get.header("ETag") == "\"\(digest)\"")
            let head = try await c.send(.head, "/v2/r/a/blobs/\(digest)")
            #expect(head.status == .ok)
            #expect(head.header("Content-Length") == "11")

            let cases: [(String, HTTPResponse.Status, String?, String?)] = [
                ("bytes=0-4", .partialContent, "hello", "bytes 0-4/11"),
                ("bytes=6-", .partialContent, "world", "bytes 6-10/11"),
                ("bytes=-5", .partialContent, "world", "bytes 6-10/11"),
                ("bytes=6-100", .partialContent, "world", "bytes 6-10/11"),
                ("bytes=11-", .rangeNotSatisfiable, nil, "bytes */11"),
                ("bytes=-0", .rangeNotSatisfiable, nil, "bytes */11"),
                ("bytes=0-1,3-4", .ok, "hello world", nil),
                ("items=0-1", .ok, "hello world", nil),
            ]
            for (range, status, body, contentRange) in cases {
                let r = try await c.send(.get, "/v2/r/a/blobs/\(digest)", headers: [.range: range])
                #expect(r.status == status, "\(range)")
                if let body { #expect(r.text == body, "\(range)") }
                #expect(r.header("Content-Range") == contentRange, "\(range)")
            }
            let cached = try await c.send(.get, "/v2/r/a/blobs/\(digest)", headers: [.ifNoneMatch: "\"\(digest)\""])
            #expect(cached.status == .notModified)
        }
    }

    @Test func postPutAndChunkedUploads() async throws {
        try await APIFixture().run { c, _ in
            let bytes = Array("0123456789".utf8)
            let digest = Digest.compute(bytes)

            let start = try await c.send(.post, "/v2/r/b/blobs/uploads/")
            #expect(start.status == .accepted)
            #expect(start.header("Range") == "0-0")
            #expect(start.header("Docker-Upload-UUID") != nil)
            let location = try #require(start.locationPath)
            #expect(location.contains("_state="))

            let first = try await c.send(.patch, location, headers: [.contentRange: "0-3", .contentLength: "4"], body: Array(bytes[0..<4]))
            #expect(first.status == .accepted)
            #expect(first.header("Range") == "0-3")
            let next = try #require(first.locationPath)

            let outOfOrder = try await c.send(.patch, next, headers: [.contentRange: "6-9", .contentLength: "4"], body: Array(bytes[6...]))
            #expect(outOfOrder.status == .rangeNotSatisfiable)
            #expect(outOfOrder.errorCode == "RANGE_INVALID")
            let replay = try await c.send(.patch, next, headers: [.contentRange: "0-3", .contentLength: "4"], body: Array(bytes[0..<4]))
            #expect(replay.status == .rangeNotSatisfiable)
            let lying = try await c.send(.patch, next, headers: [.contentRange: "4-9", .contentLength: "2"], body: Array(bytes[4..<6]))
            #expect(lying.status == .badRequest)
            #expect(lying.errorCode == "SIZE_INVALID")
            let garbage = try await c.send(.patch, next, headers: [.contentRange: "four-nine"], body: Array(bytes[4...]))
            #expect(garbage.status == .rangeNotSatisfiable)
            // A range whose length does not fit an Int64 once trapped the server.
            let huge = try await c.send(.patch, next, headers: [.contentRange: "0-9223372036854775807", .contentLength: "1"], body: [1])
            #expect(huge.status == .rangeNotSatisfiable)
            #expect(huge.errorCode == "RANGE_INVALID")

            let status = try await c.send(.get, next)
            #expect(status.status == .noContent)
            #expect(status.header("Range") == "0-3")

            let second = try await c.send(.patch, next, headers: [.contentRange: "4-7", .contentLength: "4"], body: Array(bytes[4..<8]))
            #expect(second.status == .accepted)
            let last = try #require(second.locationPath)
            let wrong = try await c.send(.put, last + "&digest=\(Digest.compute([1]))", body: Array(bytes[8...]))
            #expect(wrong.status == .badRequest)
            #expect(wrong.errorCode == "DIGEST_INVALID")
            // The failed commit discarded the session and stored nothing.
            #expect(try await c.send(.get, last).status == .notFound)
            #expect(try await c.send(.head, "/v2/r/b/blobs/\(Digest.compute([1]))").status == .notFound)

            // POST then a single PUT with the whole body.
            let again = try await c.send(.post, "/v2/r/b/blobs/uploads/")
            let done = try await c.send(.put, try #require(again.locationPath) + "&digest=\(digest)", body: bytes)
            #expect(done.status == .created)
            #expect(done.header("Docker-Content-Digest") == digest.description)
            #expect(try await c.send(.get, "/v2/r/b/blobs/\(digest)").text == "0123456789")
        }
    }

    @Test func uploadSessionsCannotBeForgedOrGuessed() async throws {
        try await APIFixture().run { c, _ in
            let start = try await c.send(.post, "/v2/r/c/blobs/uploads/")
            let location = try #require(start.locationPath)
            let id = try #require(start.header("Docker-Upload-UUID"))
            let forged = try await c.send(.patch, "/v2/r/c/blobs/uploads/\(id)?_state=AAAA", body: [1])
            #expect(forged.status == .notFound)
            #expect(forged.errorCode == "BLOB_UPLOAD_INVALID")
            // A valid state for one repository does not open the session from another.
            _ = try await c.send(.post, "/v2/r/other/blobs/uploads/")
            let state = String(location[location.range(of: "_state=")!.upperBound...])
            let moved = try await c.send(.patch, "/v2/r/other/blobs/uploads/\(id)?_state=\(state)", body: [1])
            #expect(moved.status == .notFound)
            let unknown = try await c.send(.get, "/v2/r/c/blobs/uploads/6f9619ff-8b86-4011-b42d-00c04fc964ff")
            #expect(unknown.errorCode == "BLOB_UPLOAD_UNKNOWN")
            for bad in ["..", "not-a-uuid", "%2e%2e%2f%2e%2e", "6f9619ff-8b86-4011-b42d-00c04fc964ff%2F.."] {
                let r = try await c.send(.get, "/v2/r/c/blobs/uploads/\(bad)")
                #expect(r.status == .notFound, "\(bad)")
            }
            let cancel = try await c.send(.delete, location)
            #expect(cancel.status == .noContent)
            #expect(try await c.send(.get, location).status == .notFound)
        }
    }

    @Test func crossRepositoryMount() async throws {
        try await APIFixture().run { c, _ in
            let digest = try await c.pushBlob("src/repo", [1, 2, 3])
            let mounted = try await c.send(.post, "/v2/dst/repo/blobs/uploads/?mount=\(digest)&from=src/repo")
            #expect(mounted.status == .created)
            #expect(mounted.header("Docker-Content-Digest") == digest.description)
            #expect(try await c.send(.head, "/v2/dst/repo/blobs/\(digest)").status == .ok)
            // Not in the source: an ordinary upload session.
            let absent = Digest.compute([9])
            #expect(try await c.send(.post, "/v2/dst/repo/blobs/uploads/?mount=\(absent)&from=src/repo").status == .accepted)
            // No source: the automatic mount finds src/repo, which anyone may pull here (open).
            let noSource = try await c.send(.post, "/v2/other/repo/blobs/uploads/?mount=\(digest)")
            #expect(noSource.status == .created)
            let badSource = try await c.send(.post, "/v2/dst/repo/blobs/uploads/?mount=\(digest)&from=NOT..valid")
            #expect(badSource.status == .accepted)
        }
    }

    @Test func blobDeletesUnlinkOnlyWhereAllowed() async throws {
        try await APIFixture().run { c, _ in
            let digest = try await c.pushBlob("d/one", [4, 5])
            try await c.pushBlob("d/two", [4, 5])
            #expect(try await c.send(.delete, "/v2/d/one/blobs/\(digest)").status == .accepted)
            #expect(try await c.send(.get, "/v2/d/one/blobs/\(digest)").status == .notFound)
            #expect(try await c.send(.get, "/v2/d/two/blobs/\(digest)").status == .ok)
            #expect(try await c.send(.delete, "/v2/d/one/blobs/\(digest)").status == .notFound)
        }
        try await APIFixture { $0.deleteEnabled = false }.run { c, _ in
            let digest = try await c.pushBlob("d/one", [4, 5])
            let r = try await c.send(.delete, "/v2/d/one/blobs/\(digest)")
            #expect(r.status == .methodNotAllowed)
            #expect(r.errorCode == "UNSUPPORTED")
        }
    }

    @Test func sha512Blobs() async throws {
        try await APIFixture().run { c, _ in
            let bytes = Array("sha512 content".utf8)
            let digest = Digest.compute(bytes, algorithm: .sha512)
            let pushed = try await c.send(.post, "/v2/h/s/blobs/uploads/?digest=\(digest)", body: bytes)
            #expect(pushed.status == .created)
            let fetched = try await c.send(.get, "/v2/h/s/blobs/\(digest)")
            #expect(fetched.text == "sha512 content")
        }
    }
}
