import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension RegistryClient {
    /// Executes `request`, following up to five redirects where `UpstreamHosts` allows; the
    /// Authorization header goes only to the registry's own host.
    /// `readingAhead`: the body is read ahead of its consumer (see `ReadAheadBody`).
    func execute(_ request: HTTPClientRequest, timeout: TimeAmount, readingAhead: Bool = false) async throws -> HTTPClientResponse {
        var request = request
        for _ in 0...5 {
            let response = try await readingAhead ? executeReadingAhead(request, timeout: timeout) : http.execute(request, timeout: timeout)
            guard [301, 302, 303, 307, 308].contains(response.status.code), let location = response.headers.first(name: "Location") else {
                return response
            }
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard let current = URL(string: request.url), let target = URL(string: location, relativeTo: current)?.absoluteURL else {
                throw ClientError.invalidResponse("\(host): redirect to an unreadable location")
            }
            guard hosts.mayFollowRedirect(to: target) else {
                throw ClientError.invalidResponse("\(host): redirect to \(target.scheme ?? "?")://\(target.host ?? "?") refused (only the registry's own host, or another host over HTTPS that is not local)")
            }
            var next = HTTPClientRequest(url: target.absoluteString)
            next.method = response.status.code == 303 ? .GET : request.method
            for header in request.headers where header.name.lowercased() != "authorization" || hosts.isSameHost(target) {
                next.headers.add(name: header.name, value: header.value)
            }
            if next.method == request.method { next.body = request.body }
            request = next
        }
        throw ClientError.invalidResponse("\(host): too many redirects")
    }
}
