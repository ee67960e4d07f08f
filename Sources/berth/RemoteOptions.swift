import ArgumentParser
import Client
import Foundation

/// How the browsing commands reach a registry and who they are there.
struct RemoteOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Username (or BERTH_USERNAME). Without one, credentials saved by docker/podman/skopeo login are used.")
    var username: String?

    @Option(name: .shortAndLong, help: "Password (or BERTH_PASSWORD, or --password-stdin).")
    var password: String?

    @Flag(help: "Read the password from standard input.")
    var passwordStdin = false

    @Option(help: "A docker config.json or containers auth.json to read credentials from.")
    var authfile: String?

    @Option(help: "Verify the registry's TLS certificate.")
    var tlsVerify = true

    @Option(help: "A PEM file of certificate authorities to trust.")
    var caCert: String?

    @Flag(help: "Fall back to plain HTTP when HTTPS fails (always allowed for loopback hosts).")
    var insecure = false

    func credentials(for host: String) throws -> RegistryCredentials {
        let environment = ProcessInfo.processInfo.environment
        var password = self.password ?? environment["BERTH_PASSWORD"]
        if passwordStdin {
            password = readLine(strippingNewline: true) ?? ""
        }
        if let username = username ?? environment["BERTH_USERNAME"] {
            guard let password else { throw ValidationError("a password is needed for \(username): --password, --password-stdin or BERTH_PASSWORD") }
            return .basic(username: username, password: password)
        }
        let store = authfile.map { CredentialStore(files: [$0]) } ?? CredentialStore.standard()
        return try store.credentials(for: host) ?? .anonymous
    }

    func connect(_ reference: ImageReference) async throws -> RegistryClient {
        try await RegistryClient.connect(
            host: reference.host, scheme: reference.scheme, credentials: credentials(for: reference.host),
            options: .init(tlsVerify: tlsVerify, caFile: caCert, insecure: insecure))
    }
}

/// Runs `body` with a connected client and shuts it down afterwards, whatever happens.
func withRegistry<T>(_ options: RemoteOptions, _ reference: ImageReference,
                     _ body: (RegistryClient) async throws -> T) async throws -> T {
    let client = try await options.connect(reference)
    do {
        let result = try await body(client)
        try? await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

func printJSON<T: Encodable>(encodable value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Left-aligned columns, as `docker images` prints them.
func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    for row in all {
        let line = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "   ")
        print(line)
    }
}
