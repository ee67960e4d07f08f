import OCI

/// Which manifests of a repository name another manifest as their `subject`. Built per
/// repository from its revisions on first query, then kept in step by Berth's own pushes and
/// deletes. Entries are re-checked against the layout when read, so a manifest deleted by
/// another process is never reported.
actor ReferrersIndex {
    private var byRepository: [RepositoryName: [Digest: [Digest: Descriptor]]] = [:]

    func isLoaded(_ repository: RepositoryName) -> Bool { byRepository[repository] != nil }

    func load(_ repository: RepositoryName, _ entries: [(subject: Digest, referrer: Descriptor)]) {
        guard byRepository[repository] == nil else { return }
        var map: [Digest: [Digest: Descriptor]] = [:]
        for entry in entries { map[entry.subject, default: [:]][entry.referrer.digest] = entry.referrer }
        byRepository[repository] = map
    }

    func add(_ repository: RepositoryName, subject: Digest, referrer: Descriptor) {
        guard byRepository[repository] != nil else { return }
        byRepository[repository]![subject, default: [:]][referrer.digest] = referrer
    }

    func remove(_ repository: RepositoryName, referrer: Digest) {
        guard var map = byRepository[repository] else { return }
        for subject in map.keys { map[subject]?.removeValue(forKey: referrer) }
        byRepository[repository] = map
    }

    func referrers(_ repository: RepositoryName, subject: Digest) -> [Descriptor] {
        Array((byRepository[repository]?[subject] ?? [:]).values).sorted { $0.digest < $1.digest }
    }
}
