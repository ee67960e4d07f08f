import Foundation
import OCI

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
    /// `validation.manifests.urls`: which foreign layer URLs excuse a layer from being present.
    public var layerURLPolicy: LayerURLPolicy = .init()
    /// Blob GETs answered with a redirect where the driver can give one (Distribution's
    /// `storage.redirect`, on unless `disable: true`).
    public var redirectBlobs = true

    public init(deleteEnabled: Bool = true, readOnly: Bool = false, requireIndexChildren: Bool = true,
                maxManifestSize: Int = Manifest.maxSize, layerURLPolicy: LayerURLPolicy = .init()) {
        self.layerURLPolicy = layerURLPolicy
        self.deleteEnabled = deleteEnabled
        self.readOnly = readOnly
        self.requireIndexChildren = requireIndexChildren
        self.maxManifestSize = maxManifestSize
    }
}

/// Distribution's `validation.manifests.urls.allow/deny`: a layer whose every URL is
/// http(s), has no fragment, matches an allow pattern and no deny pattern need not be pushed.
/// With no allow patterns, no URL is trusted and every layer must be present.
public struct LayerURLPolicy: Sendable {
    public var allow: [String]
    public var deny: [String]

    public init(allow: [String] = [], deny: [String] = []) {
        self.allow = allow
        self.deny = deny
    }

    public func permits(_ url: String) -> Bool {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
              scheme == "http" || scheme == "https", parsed.fragment == nil else { return false }
        func matches(_ pattern: String) -> Bool {
            (try? NSRegularExpression(pattern: pattern))?.firstMatch(in: url, range: NSRange(url.startIndex..., in: url)) != nil
        }
        // Unlike Distribution, which refuses every URL unless an allow list names it, no
        // allow list means any http(s) URL: the OCI conformance suite and Windows images need it.
        return (allow.isEmpty || allow.contains(where: matches)) && !deny.contains(where: matches)
    }
}
