import Auth
import HTTPTypes
import Hummingbird

extension RegistryRoute {
    /// What a request needs, as Distribution maps methods to actions: GET/HEAD pull,
    /// POST/PUT/PATCH pull+push, DELETE delete; a mount also needs pull on its source; the
    /// catalog needs `registry:catalog:*`; the base endpoint only a valid token.
    func requiredAccess(method: HTTPRequest.Method, mountSource: String? = nil) -> [ResourceScope] {
        let actions: [String]
        switch method {
        case .get, .head: actions = ["pull"]
        case .delete: actions = ["delete"]
        default: actions = ["pull", "push"]
        }
        switch self {
        case .base: return []
        case .catalog: return [ResourceScope(type: "registry", name: "catalog", actions: ["*"])]
        case .tags(let name), .manifest(let name, _), .blob(let name, _), .upload(let name, _), .referrers(let name, _):
            return [ResourceScope(type: "repository", name: name, actions: actions)]
        case .uploadStart(let name):
            var scopes = [ResourceScope(type: "repository", name: name, actions: actions)]
            if let from = mountSource, from != name {
                scopes.append(ResourceScope(type: "repository", name: from, actions: ["pull"]))
            }
            return scopes
        }
    }
}
