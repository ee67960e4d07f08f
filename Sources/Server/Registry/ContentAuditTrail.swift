import Accounts
import Foundation
import Notifications
import OCI

/// The audit log's share of the registry's events: every manifest pushed (with its tag) and
/// every delete, with the account and address that did it; pulls only counted, per
/// repository and day (an image manifest fetched: a multi-platform pull's index is not
/// counted, its image is). Blob uploads and mounts are left out (a push is its manifest).
package struct ContentAuditTrail: EventSink {
    let directory: AccountDirectory

    package init(directory: AccountDirectory) { self.directory = directory }

    /// Manifest pushes and pulls, and deletes: a blob's push, pull or mount builds no event here.
    package func wants(_ action: Event.Action, mediaType: String?) -> Bool {
        switch action {
        case .push: mediaType.map(MediaType.manifestTypes.contains) ?? false
        case .pull: mediaType.map(MediaType.imageManifestTypes.contains) ?? false
        case .delete: true
        case .mount: false
        }
    }

    package func publish(_ action: Event.Action, _ target: Event.Target, request: Event.Request, actor: String?) {
        let name: String
        // Only what `wants` let through arrives here.
        switch action {
        case .push: name = "manifest.push"
        case .delete: name = "manifest.delete"
        case .pull:
            directory.recordPull(target.repository)
            return
        case .mount:
            return
        }
        let reference = target.tag.map { ":\($0)" } ?? "@\(target.digest)"
        // The event's address carries the connection's port; the audit log keeps addresses bare.
        let address = request.addr.lastIndex(of: ":").map { String(request.addr[..<$0]) } ?? request.addr
        directory.recordContentChange(AuditEntry(
            actor: actor ?? "(anonymous)", action: name, target: target.repository + reference,
            address: address.isEmpty || address == "-" ? nil : address,
            detail: target.tag == nil ? nil : target.digest))
    }
}
