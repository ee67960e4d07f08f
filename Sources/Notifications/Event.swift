import Foundation

/// A registry event in Distribution's notification format (`notifications/event.go`), so
/// receivers written for `registry:2` work unchanged.
public struct Event: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable {
        case push, pull, mount, delete
    }

    public struct Target: Codable, Sendable, Equatable {
        public var mediaType: String?
        public var size: Int64?
        public var digest: String
        /// Distribution repeats `size` here for old receivers.
        public var length: Int64?
        public var repository: String
        public var fromRepository: String?
        public var url: String?
        public var tag: String?
        public var references: [Reference]?

        public init(mediaType: String? = nil, size: Int64? = nil, digest: String, repository: String,
                    fromRepository: String? = nil, url: String? = nil, tag: String? = nil) {
            self.mediaType = mediaType
            self.size = size
            self.length = size
            self.digest = digest
            self.repository = repository
            self.fromRepository = fromRepository
            self.url = url
            self.tag = tag
        }
    }

    /// A descriptor of something a manifest references (`events.includereferences`).
    public struct Reference: Codable, Sendable, Equatable {
        public var mediaType: String
        public var size: Int64
        public var digest: String

        public init(mediaType: String, size: Int64, digest: String) {
            self.mediaType = mediaType
            self.size = size
            self.digest = digest
        }
    }

    public struct Request: Codable, Sendable, Equatable {
        public var id: String
        public var addr: String
        public var host: String
        public var method: String
        public var useragent: String

        public init(id: String, addr: String, host: String, method: String, useragent: String) {
            self.id = id
            self.addr = addr
            self.host = host
            self.method = method
            self.useragent = useragent
        }
    }

    public struct Actor: Codable, Sendable, Equatable {
        public var name: String?
        public init(name: String?) { self.name = name }
    }

    public struct Source: Codable, Sendable, Equatable {
        public var addr: String
        public var instanceID: String
        public init(addr: String, instanceID: String) {
            self.addr = addr
            self.instanceID = instanceID
        }
    }

    public var id: String
    public var timestamp: String
    public var action: Action
    public var target: Target
    public var request: Request
    public var actor: Actor
    public var source: Source

    public init(action: Action, target: Target, request: Request, actor: Actor, source: Source,
                id: String = UUID().uuidString.lowercased(), timestamp: Date = Date()) {
        self.id = id
        self.timestamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(timestamp)
        self.action = action
        self.target = target
        self.request = request
        self.actor = actor
        self.source = source
    }

    /// The body's content type as Distribution 2.8 sends it (3.x renamed it `…v2+json`).
    public static let envelopeMediaType = "application/vnd.docker.distribution.events.v1+json"
    /// Distribution's media type for layer pushes and pulls.
    public static let layerMediaType = "application/vnd.docker.container.image.rootfs.diff+x-gtar"
}

/// `{"events":[…]}`, the body of every notification request.
public struct Envelope: Codable, Sendable {
    public var events: [Event]
    public init(events: [Event]) { self.events = events }
}
