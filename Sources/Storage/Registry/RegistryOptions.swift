/// Behaviour switches of the registry store, set from the configuration.
public struct RegistryOptions: Sendable {
    /// `storage.delete.enabled`: allow deleting manifests, tags and blob links.
    public var deleteEnabled: Bool
    /// `storage.maintenance.readonly.enabled`: refuse every write.
    public var readOnly: Bool
    /// `validation.manifests.indexes.platforms != none`: index children must be present.
    public var requireIndexChildren: Bool
    /// Largest manifest accepted, in bytes.
    public var maxManifestSize: Int

    public init(deleteEnabled: Bool = true, readOnly: Bool = false, requireIndexChildren: Bool = true,
                maxManifestSize: Int = 4 * 1024 * 1024) {
        self.deleteEnabled = deleteEnabled
        self.readOnly = readOnly
        self.requireIndexChildren = requireIndexChildren
        self.maxManifestSize = maxManifestSize
    }
}
