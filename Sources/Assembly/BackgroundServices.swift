import Server
import Foundation
import Logging
import Mirror
import ServiceLifecycle
import Storage

/// Says in the log when a graceful shutdown (SIGTERM, SIGINT) begins: requests in flight,
/// uploads included, are finished before the process exits.
struct ShutdownAnnouncer: Service {
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.notice("shutting down: no new connections; finishing the requests in flight, then exiting")
    }
}

/// Holds the upstream connections open while the server runs and closes them when it stops.
struct MirrorConnections: Service {
    let mirror: MirroringContent

    func run() async throws {
        try? await gracefulShutdown()
        await mirror.shutdown()
    }
}

/// Evicts mirrored content nobody pulled within its upstream's `ttl`, on a schedule.
struct MirrorRetention: Service {
    let mirror: MirroringContent
    let interval: Double
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(interval)) } catch { return }
                do {
                    _ = try await mirror.evictUnpulled()
                } catch {
                    logger.error("mirror retention failed", metadata: ["error": .string(String(describing: error))])
                }
            }
        }
    }
}

/// Removes abandoned uploads on a schedule (`storage.maintenance.uploadpurging`).
struct UploadPurger: Service {
    let store: RegistryStore
    let age: Double
    let interval: Double
    let dryRun: Bool
    let logger: Logger

    func run() async throws {
        // Sleeping between runs must not hold up a graceful shutdown.
        try? await cancelWhenGracefulShutdown { try await loop() }
    }

    private func loop() async throws {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(interval))
            } catch {
                return
            }
            do {
                let purged = try await store.purgeUploads(startedBefore: Date(timeIntervalSinceNow: -age), dryRun: dryRun)
                if !purged.isEmpty {
                    logger.info(dryRun ? "uploads that would be purged" : "purged abandoned uploads",
                                metadata: ["count": .stringConvertible(purged.count)])
                }
            } catch {
                logger.error("upload purge failed", metadata: ["error": .string(String(describing: error))])
            }
        }
    }
}
