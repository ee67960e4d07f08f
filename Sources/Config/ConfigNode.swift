import Yams

/// A configuration document as an ordered tree of strings, so environment overrides can be
/// applied and unread keys reported before anything is interpreted.
public indirect enum ConfigNode: Sendable, Equatable {
    case scalar(String)
    case null
    case list([ConfigNode])
    case map([(key: String, value: ConfigNode)])

    public static func == (lhs: ConfigNode, rhs: ConfigNode) -> Bool {
        switch (lhs, rhs) {
        case (.scalar(let a), .scalar(let b)): a == b
        case (.null, .null): true
        case (.list(let a), .list(let b)): a == b
        case (.map(let a), .map(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    public static func parse(yaml: String) throws -> ConfigNode {
        guard let node = try Yams.compose(yaml: yaml) else { return .map([]) }
        return ConfigNode(node)
    }

    init(_ node: Node) {
        switch node {
        case .scalar(let s):
            if s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) {
                self = .null
            } else {
                self = .scalar(s.string)
            }
        case .sequence(let seq):
            self = .list(seq.map(ConfigNode.init))
        case .mapping(let mapping):
            self = .map(mapping.map { (key: $0.key.string ?? "", value: ConfigNode($0.value)) })
        case .alias:
            self = .null
        }
    }

    var yamsNode: Node {
        switch self {
        case .scalar(let s): Node(s)
        case .null: Node("null")
        case .list(let items): Node(items.map(\.yamsNode))
        case .map(let pairs): Node(pairs.map { (Node($0.key), $0.value.yamsNode) })
        }
    }

    public func yaml() -> String {
        (try? Yams.serialize(node: yamsNode)) ?? ""
    }

    /// The child under `key`, matched case-insensitively as Distribution's parser does.
    public subscript(key: String) -> ConfigNode? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.key.lowercased() == key.lowercased() }?.value
    }

    /// Sets the value at `path` (case-insensitive), creating maps on the way.
    mutating func set(_ path: ArraySlice<String>, to value: ConfigNode) {
        guard let head = path.first else {
            self = value
            return
        }
        if case .list(var items) = self, let index = Int(head), index >= 0 {
            while items.count <= index { items.append(.null) }
            items[index].set(path.dropFirst(), to: value)
            self = .list(items)
            return
        }
        var pairs: [(key: String, value: ConfigNode)]
        if case .map(let existing) = self { pairs = existing } else { pairs = [] }
        if let i = pairs.firstIndex(where: { $0.key.lowercased() == head.lowercased() }) {
            pairs[i].value.set(path.dropFirst(), to: value)
        } else {
            var child = ConfigNode.null
            child.set(path.dropFirst(), to: value)
            pairs.append((key: head.lowercased(), value: child))
        }
        self = .map(pairs)
    }

    /// Every leaf path in the tree (maps descended, lists and scalars are leaves).
    func leafPaths(prefix: [String] = []) -> [[String]] {
        switch self {
        case .map(let pairs) where !pairs.isEmpty:
            pairs.flatMap { $0.value.leafPaths(prefix: prefix + [$0.key.lowercased()]) }
        default:
            prefix.isEmpty ? [] : [prefix]
        }
    }
}
