import Foundation
import Hummingbird
import Logging
import NIOCore
import Notifications
import ServiceLifecycle
import Storage
import Testing

/// A real HTTP receiver on a free loopback port that refuses the first `failFirst` posts.
final class Receiver: @unchecked Sendable {
    private let lock = NSLock()
    private var failuresLeft: Int
    private(set) var bodies: [[UInt8]] = []
    private(set) var contentTypes: [String] = []
    private(set) var tokens: [String] = []
    private(set) var attempts = 0

    init(failFirst: Int) { failuresLeft = failFirst }

    func record(_ body: [UInt8], contentType: String, token: String) -> Bool {
        lock.withLock {
            attempts += 1
            if failuresLeft > 0 { failuresLeft -= 1; return false }
            bodies.append(body)
            contentTypes.append(contentType)
            tokens.append(token)
            return true
        }
    }

    var events: [Event] {
        lock.withLock { bodies.flatMap { (try? JSONDecoder().decode(Envelope.self, from: Data($0)).events) ?? [] } }
    }

    var snapshot: (attempts: Int, contentTypes: [String], tokens: [String]) {
        lock.withLock { (attempts, contentTypes, tokens) }
    }

    /// Serves until `body` returns.
    func serving<T>(_ body: (_ url: String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/events") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let ok = self.record(Array(bytes.readableBytesView), contentType: request.headers[.contentType] ?? "",
                                 token: request.headers[.authorization] ?? "")
            return Response(status: ok ? .ok : .internalServerError)
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        var quiet = Logger(label: "receiver")
        quiet.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: quiet)
        let server = Task { try await app.runService() }
        var ports = stream.makeAsyncIterator()
        let port = await ports.next() ?? 0
        defer { server.cancel() }
        return try await body("http://127.0.0.1:\(port)/events")
    }
}

@Suite struct NotifierTests {
    let logger = Logger(label: "test")
    let request = Event.Request(id: "r1", addr: "127.0.0.1:1234", host: "registry.test", method: "PUT", useragent: "test")

    func target(_ i: Int, mediaType: String = "application/vnd.oci.image.manifest.v1+json") -> Event.Target {
        Event.Target(mediaType: mediaType, size: Int64(i), digest: "sha256:" + String(repeating: "0", count: 63) + String(i % 10),
                     repository: "team/app", url: "http://registry.test/v2/team/app/manifests/\(i)", tag: "t\(i)")
    }

    func waitFor(_ condition: () -> Bool, seconds: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { Issue.record("timed out"); return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Runs `notifier` as a service; stops it gracefully when `body` returns.
    func running<T>(_ notifier: Notifier, _ body: () async throws -> T) async throws -> T {
        let group = ServiceGroup(configuration: .init(services: [notifier], logger: logger))
        let task = Task { try await group.run() }
        let result = try await body()
        await group.triggerGracefulShutdown()
        try await task.value
        return result
    }

    func endpoint(_ url: String, threshold: Int = 3, backoff: Double = 0.2, ignoredTypes: [String] = [], ignoredActions: [String] = []) -> Notifier.Endpoint {
        Notifier.Endpoint(settings: .init(name: "hook one", url: url, headers: ["Authorization": ["Bearer hook-secret"]],
                                          // Generous: a loaded CI machine must not time out a
                                          // delivery the receiver took (that is a duplicate).
                                          timeout: 15, threshold: threshold, backoff: backoff),
                          ignoredMediaTypes: ignoredTypes, ignoredActions: ignoredActions)
    }

    @Test func failingReceiverGetsEveryEventOnceInOrderAfterRetries() async throws {
        let receiver = Receiver(failFirst: 5)
        let driver = InMemoryDriver()
        try await receiver.serving { url in
            let notifier = try Notifier(endpoints: [endpoint(url)], driver: driver, sourceAddress: "berth:5000", logger: logger)
            try await running(notifier) {
                for i in 0..<50 { notifier.publish(.push, target(i), request: request, actor: "alice") }
                try await waitFor { receiver.events.count == 50 && notifier.stats["hook one"]?.count(.delivered) == receiver.bodies.count }
            }
            let events = receiver.events
            #expect(events.map(\.target.tag) == (0..<50).map { "t\($0)" })
            #expect(Set(events.map(\.id)).count == 50)
            #expect(events[0].actor.name == "alice")
            #expect(events[0].source.addr == "berth:5000")
            #expect(events[0].target.length == events[0].target.size)
            #expect(events[0].action == .push)
            let snapshot = receiver.snapshot
            #expect(snapshot.attempts >= 6)
            #expect(Set(snapshot.contentTypes) == ["application/vnd.docker.distribution.events.v1+json"])
            #expect(Set(snapshot.tokens) == ["Bearer hook-secret"])
            #expect(notifier.stats["hook one"]?.count(.failed) == 5)
            #expect(notifier.stats["hook one"]?.count(.delivered) == receiver.bodies.count)
            let queued = try await EventQueue(driver: driver, endpoint: "hook one").count()
            #expect(queued == 0)
        }
    }

    /// Three replicas sharing one storage (and so one queue), each publishing events: every
    /// event reaches the endpoint exactly once, not once per replica.
    @Test func replicasSharingAQueueDeliverEachEventOnce() async throws {
        let receiver = Receiver(failFirst: 3)
        let driver = InMemoryDriver()
        try await receiver.serving { url in
            let replicas = try (0..<3).map { _ in
                try Notifier(endpoints: [endpoint(url)], driver: driver, sourceAddress: "berth:5000", logger: logger)
            }
            let group = ServiceGroup(configuration: .init(services: replicas, logger: logger))
            let task = Task { try await group.run() }
            for i in 0..<60 { replicas[i % 3].publish(.push, target(i), request: request, actor: "alice") }
            try await waitFor { receiver.events.count >= 60 }
            try await Task.sleep(nanoseconds: 1_500_000_000)
            await group.triggerGracefulShutdown()
            try await task.value
        }
        let tags = receiver.events.map(\.target.tag)
        #expect(tags.count == 60)
        #expect(Set(tags) == Set((0..<60).map { "t\($0)" }))
        #expect(try await EventQueue(driver: driver, endpoint: "hook one").count() == 0)
    }

    /// Claims are exclusive and go with their batch; a dead replica's claim (not renewed for
    /// `claimLifetime`) is taken over.
    @Test func claimsAreExclusiveAndStaleOnesAreTakenOver() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-claims-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let driver = try FilesystemDriver(rootDirectory: root)
        let queue = try EventQueue(driver: driver, endpoint: "hook one")
        for i in 0..<2 {
            try await queue.append([Event(action: .push, target: target(i), request: request, actor: .init(name: nil), source: .init(addr: "a", instanceID: "b"))])
        }
        let names = try await queue.pending()
        #expect(try await queue.claim(names[0]))
        #expect(try await queue.claim(names[0]) == false)
        #expect(try await queue.claim(names[1]))
        let claim = root + "/" + queue.directory.description + "/" + names[1] + ".claim"
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -2 * EventQueue.claimLifetime)], ofItemAtPath: claim)
        #expect(try await queue.claim(names[1]))
        #expect(try await queue.claim(names[1]) == false)
        for name in names { try await queue.remove(name) }
        #expect(try await driver.listIfPresent(queue.directory).isEmpty)
    }

    /// On disk, as `berth serve` runs: the sender stopping must also give back its claim
    /// (storage calls of a cancelled task are refused), or the next start waits for it.
    @Test func queuedEventsSurviveARestart() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let driver = try FilesystemDriver(rootDirectory: root)
        // Nothing listens on this port: every delivery fails.
        let first = try Notifier(endpoints: [endpoint("http://127.0.0.1:9/events", threshold: 1, backoff: 60)], driver: driver,
                                 sourceAddress: "berth:5000", logger: logger)
        try await running(first) {
            for i in 0..<20 { first.publish(.pull, target(i), request: request, actor: nil) }
            try await Task.sleep(nanoseconds: 300_000_000)
        }
        let queue = try EventQueue(driver: driver, endpoint: "hook one")
        #expect(try await queue.count() > 0)
        #expect(try await driver.listIfPresent(queue.directory).allSatisfy { !$0.hasSuffix(".claim") })

        let receiver = Receiver(failFirst: 0)
        try await receiver.serving { url in
            let second = try Notifier(endpoints: [endpoint(url)], driver: driver, sourceAddress: "berth:5000", logger: logger)
            try await running(second) {
                try await waitFor { receiver.events.count == 20 }
            }
        }
        #expect(receiver.events.map(\.target.tag) == (0..<20).map { "t\($0)" })
        #expect(receiver.events.allSatisfy { $0.action == .pull && $0.actor.name == nil })
    }

    @Test func aFullQueueDropsItsOldestBatches() async throws {
        let queue = try EventQueue(driver: InMemoryDriver(), endpoint: "down for days")
        for i in 0..<10 { try await queue.append([Event(action: .pull, target: target(i), request: request, actor: .init(name: nil), source: .init(addr: "a", instanceID: "b"))]) }
        #expect(try await queue.trim(toAtMost: 3) == 7)
        let kept = try await queue.pending()
        var tags: [String?] = []
        for name in kept {
            let envelope = try JSONDecoder().decode(Envelope.self, from: Data(try await queue.read(name).body))
            tags += envelope.events.map(\.target.tag)
        }
        #expect(tags == ["t7", "t8", "t9"])
        #expect(try await queue.trim(toAtMost: 3) == 0)
    }

    @Test func ignoreRulesFilterActionsAndMediaTypes() async throws {
        let receiver = Receiver(failFirst: 0)
        try await receiver.serving { url in
            let notifier = try Notifier(endpoints: [endpoint(url, ignoredTypes: [Event.layerMediaType], ignoredActions: ["pull"])],
                                        driver: InMemoryDriver(), sourceAddress: "berth:5000", logger: logger)
            try await running(notifier) {
                notifier.publish(.pull, target(1), request: request, actor: nil)
                notifier.publish(.push, target(2, mediaType: Event.layerMediaType), request: request, actor: nil)
                notifier.publish(.delete, Event.Target(digest: "sha256:" + String(repeating: "1", count: 64), repository: "team/app"), request: request, actor: nil)
                notifier.publish(.push, target(3), request: request, actor: nil)
                try await waitFor { receiver.events.count == 2 }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
        }
        #expect(receiver.events.map(\.action) == [.delete, .push])
        // Delete events carry only the digest and repository.
        let encoded = try JSONEncoder().encode(receiver.events[0].target)
        let keys = try #require(JSONSerialization.jsonObject(with: encoded) as? [String: Any]).keys.sorted()
        #expect(keys == ["digest", "repository"])
    }
}
