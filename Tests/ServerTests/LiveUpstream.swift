@testable import Assembly
import Storage
import Testing

extension MirrorAPITests {
    /// A Berth upstream live on a loopback port, for tests that build their own mirror or client.
    static func withLiveUpstream(_ test: @escaping @Sendable (_ upstream: APIFixture.Client, _ store: RegistryStore,
                                                              _ port: Int) async throws -> Void) async throws {
        var logger = quiet
        logger.logLevel = .critical
        let config = APIFixture().config
        let store = try BerthServer.makeStore(config, logger: logger)
        let app = try await BerthServer.makeApplication(config, store: store, logger: logger)
        try await app.test(.live) { liveClient in
            try await test(APIFixture.Client(client: liveClient), store, try #require(liveClient.port))
        }
    }

    /// `count` bytes of a pattern, filled through a raw buffer: a per-byte `map` of megabytes,
    /// unoptimised, holds a cooperative thread for seconds and starves other tests' timers.
    static func patterned(_ count: Int, step: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in buffer.indices { buffer[index] = UInt8(truncatingIfNeeded: index &* step &+ index >> 16) }
            initialized = count
        }
    }
}
