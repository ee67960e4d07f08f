import AsyncHTTPClient
import Auth
import Foundation
import NIOCore
import NIOFoundationCompat

/// Requests to a sign-in provider: each reply read whole (up to `bodyLimit`), and a provider
/// that cannot be reached an `AuthError.unavailable` (503), never a refused sign-in.
struct ProviderConnection: Sendable {
    let http: HTTPClient
    let timeout: TimeAmount
    /// How errors name the provider: "the sign-in provider", "GitHub".
    let name: String
    let bodyLimit: Int

    init(http: HTTPClient, timeout: Duration, name: String, bodyLimit: Int) {
        self.http = http
        self.timeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        self.name = name
        self.bodyLimit = bodyLimit
    }

    func send(_ request: HTTPClientRequest) async throws -> (Int, Data) {
        do {
            let response = try await http.execute(request, timeout: timeout)
            return (Int(response.status.code), Data(buffer: try await response.body.collect(upTo: bodyLimit)))
        } catch {
            throw AuthError.unavailable("\(name) cannot be reached: \(error)")
        }
    }
}
