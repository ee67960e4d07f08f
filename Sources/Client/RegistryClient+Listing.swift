import Foundation
import NIOHTTP1
import OCI

extension RegistryClient {
    /// Every repository, following `Link: <…>; rel="next"` pages.
    public func catalog(pageSize: Int = 1000, progress: (@Sendable (Int) -> Void)? = nil) async throws -> [String] {
        try await catalogListing(pageSize: pageSize, progress: progress).names
    }

    /// Every repository, and the prefixes a Berth registry mirrors from upstreams (`*`: all).
    public func catalogListing(pageSize: Int = 1000, progress: (@Sendable (Int) -> Void)? = nil) async throws -> (names: [String], mirrorPrefixes: [String]) {
        struct Page: Decodable { var repositories: [String]? }
        var names: [String] = []
        var mirrorPrefixes: [String] = []
        var next: String? = "/v2/_catalog?n=\(pageSize)"
        while let path = next {
            let response = try await send(.GET, path, scope: "registry:catalog:*", accept: ["application/json"])
            if let header = response.header("Berth-Mirror-Prefixes") {
                mirrorPrefixes = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            let page = try decode(Page.self, response, what: "catalog")
            names += page.repositories ?? []
            progress?(names.count)
            next = Self.nextLink(response.header("Link"))
            if page.repositories?.isEmpty ?? true { break }
        }
        return (names, mirrorPrefixes)
    }

    /// True when `name` falls under one of the mirrored prefixes.
    public static func isMirrored(_ name: String, prefixes: [String]) -> Bool {
        prefixes.contains { $0 == "*" || name.hasPrefix($0 + "/") }
    }

    /// Every tag of a repository, following pages.
    public func tags(_ repository: RepositoryName, pageSize: Int = 1000) async throws -> [String] {
        struct Page: Decodable { var tags: [String]? }
        var tags: [String] = []
        var next: String? = "/v2/\(repository.value)/tags/list?n=\(pageSize)"
        while let path = next {
            let response = try await send(.GET, path, scope: pullScope(repository), accept: ["application/json"])
            let page = try decode(Page.self, response, what: "tags list")
            tags += page.tags ?? []
            next = Self.nextLink(response.header("Link"))
            if page.tags?.isEmpty ?? true { break }
        }
        return tags
    }

    func pullScope(_ repository: RepositoryName) -> String { "repository:\(repository.value):pull" }

    func decode<T: Decodable>(_ type: T.Type, _ response: Response, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(response.bytes))
        } catch {
            throw ClientError.invalidResponse("\(host): malformed \(what) response")
        }
    }

    /// The URL of `Link: <URL>; rel="next"`, if any.
    static func nextLink(_ header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ",") where part.contains("rel=\"next\"") || part.contains("rel=next") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">"), open < close else { continue }
            return String(part[part.index(after: open)..<close])
        }
        return nil
    }
}
