import OCI

/// Repositories whose referrers index this process has reconciled with their manifest
/// revisions (content pushed by Distribution, or before the index existed, has no entries
/// until then). Reconciling once per process is enough: Berth's own pushes keep the index.
actor ReferrersBackfill {
    private var done: Set<RepositoryName> = []

    func needsBackfill(_ repository: RepositoryName) -> Bool { !done.contains(repository) }
    func markDone(_ repository: RepositoryName) { done.insert(repository) }
}
