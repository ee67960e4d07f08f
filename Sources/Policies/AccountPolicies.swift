import Accounts
import Storage
import Synchronization

/// The repository policies of the accounts database as they are now: made from the directory's
/// snapshot once per generation, so a manifest GET pays a lock and a comparison, and a policy
/// added through any replica or the CLI applies within the same second as a rule.
public final class AccountPolicies: RepositoryPolicySource {
    let directory: AccountDirectory
    let context: PolicyKinds.PolicyContext
    private let made = Mutex<(generation: Int64, policies: [any RepositoryPolicy])?>(nil)

    public init(directory: AccountDirectory, usage: NamespaceUsage? = nil, tagPulls: TagPullRecorder? = nil) {
        self.directory = directory
        self.context = PolicyKinds.PolicyContext(usage: usage, tagPulls: tagPulls)
    }

    public func policies() async throws -> [any RepositoryPolicy] {
        let snapshot = directory.snapshot
        if let made = made.withLock({ $0 }), made.generation == snapshot.generation { return made.policies }
        let policies = PolicyKinds.policies(snapshot.repositoryPolicies, context: context)
        made.withLock { $0 = (snapshot.generation, policies) }
        return policies
    }
}
