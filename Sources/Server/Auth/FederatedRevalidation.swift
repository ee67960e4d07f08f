import Accounts
import Auth
import Foundation
import Logging
import ServiceLifecycle

/// Asks the sign-in providers, every `revalidate_after`, whether they still accept the people
/// who signed in through them (with the refresh token each gave). One refused is signed out
/// everywhere: their account is disabled (sessions, refresh tokens and access tokens with
/// it) until they sign in through the provider again. A provider that cannot answer is asked
/// again at the next round; that is never a refusal. Replicas share the work: each check is
/// claimed in the database first, so a rotating refresh token is used once.
struct FederatedRevalidation: Service {
    let providers: [any SignInProvider]
    let accounts: AccountAdministration
    let sealer: SecretSealer
    let logger: Logger
    let replica = UUID().uuidString

    /// How often due checks are looked for: a tenth of the shortest `revalidate_after`,
    /// between a second and a minute.
    var interval: Duration {
        let shortest = providers.map(\.revalidateAfter).min() ?? .seconds(3600)
        return max(.seconds(1), min(.seconds(60), shortest / 10))
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                await round()
            }
        }
    }

    func round(now: Date = Date()) async {
        for provider in providers {
            let seconds = Double(provider.revalidateAfter.components.seconds)
            let due: [FederatedRecord]
            do {
                due = try await accounts.directory.store.federatedDue(before: now.addingTimeInterval(-seconds))
                    .filter { $0.provider == provider.id }
            } catch {
                logger.warning("sign-in revalidation: accounts database unreachable", metadata: ["error": .string("\(error)")])
                return
            }
            for record in due {
                await check(record, with: provider)
            }
        }
    }

    func check(_ record: FederatedRecord, with provider: any SignInProvider) async {
        let store = accounts.directory.store
        do {
            guard try await store.claimFederated(record, replica: replica) else { return }
            guard let sealed = record.refreshToken, let refreshToken = sealer.open(sealed) else {
                // Sealed with another upload secret (a restored backup): cannot ask; the
                // sessions end on their own, and the next sign-in stores a new one.
                return
            }
            switch try await provider.revalidate(record.account, refreshToken: refreshToken) {
            case .accepted(let rotated, let person):
                try await accounts.federatedRevalidated(person, account: record.account, refreshToken: try rotated.map(sealer.seal))
            case .refused(let reason):
                logger.notice("sign-in provider no longer accepts an account: disabled", metadata: [
                    "account": .string(record.account), "provider": .string(provider.id), "reason": .string(reason)])
                try await accounts.federatedRefused(account: record.account, reason: reason, provenance: "\(provider.id) \(provider.displayName)")
            }
        } catch {
            logger.warning("sign-in revalidation deferred", metadata: ["account": .string(record.account), "error": .string("\(error)")])
        }
    }
}
