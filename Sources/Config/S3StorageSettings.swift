/// Distribution's `storage.s3` section (driver names `s3` and `s3aws`), as written.
public struct S3StorageSettings: Sendable, Equatable {
    public init() {}

    public var bucket = ""
    public var region = ""
    public var regionEndpoint: String?
    public var forcePathStyle = false
    public var rootDirectory = ""
    public var accessKey: String?
    public var secretKey: String?
    public var encrypt = false
    public var keyID: String?
    public var secure = true
    public var skipVerify = false
    public var v4Auth = true
    public var chunkSize = 10 << 20
    public var multipartCopyChunkSize = 32 << 20
    public var multipartCopyMaxConcurrency = 100
    public var multipartCopyThresholdSize = 32 << 20
    public var storageClass = "STANDARD"
    public var objectACL = "private"
    public var logLevel = "off"
    public var redirectEndpoint: String?

    static let storageClasses: Set<String> = ["NONE", "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
                                              "INTELLIGENT_TIERING", "OUTPOSTS", "GLACIER_IR", "EXPRESS_ONEZONE"]
    static let cannedACLs: Set<String> = ["private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
                                          "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"]

    static func read(_ r: ConfigReader, section: String) throws -> S3StorageSettings {
        var s = S3StorageSettings()
        let p = "storage.\(section)."
        s.bucket = try r.string(p + "bucket") ?? ""
        guard !s.bucket.isEmpty else { throw ConfigError("\(p)bucket: required") }
        s.region = try r.string(p + "region") ?? ""
        s.regionEndpoint = try r.string(p + "regionendpoint").flatMap { $0.isEmpty ? nil : $0 }
        guard !s.region.isEmpty || s.regionEndpoint != nil else { throw ConfigError("\(p)region: required unless regionendpoint is set") }
        s.forcePathStyle = try r.bool(p + "forcepathstyle") ?? false
        s.rootDirectory = try r.string(p + "rootdirectory") ?? ""
        s.accessKey = try r.string(p + "accesskey").flatMap { $0.isEmpty ? nil : $0 }
        s.secretKey = try r.string(p + "secretkey").flatMap { $0.isEmpty ? nil : $0 }
        s.encrypt = try r.bool(p + "encrypt") ?? false
        s.keyID = try r.string(p + "keyid").flatMap { $0.isEmpty ? nil : $0 }
        s.secure = try r.bool(p + "secure") ?? true
        s.skipVerify = try r.bool(p + "skipverify") ?? false
        s.v4Auth = try r.bool(p + "v4auth") ?? true
        guard s.v4Auth else { throw ConfigError("\(p)v4auth: false (Signature Version 2) is not supported") }
        func size(_ key: String, _ range: ClosedRange<Int>, default value: Int) throws -> Int {
            guard let v = try r.int(p + key) else { return value }
            guard range.contains(v) else {
                throw ConfigError("\(p)\(key): must be between \(range.lowerBound) and \(range.upperBound), got \(v)")
            }
            return v
        }
        s.chunkSize = try size("chunksize", (5 << 20)...(5 << 30), default: 10 << 20)
        s.multipartCopyChunkSize = try size("multipartcopychunksize", (5 << 20)...(5 << 30), default: 32 << 20)
        s.multipartCopyMaxConcurrency = try size("multipartcopymaxconcurrency", 1...10_000, default: 100)
        s.multipartCopyThresholdSize = try size("multipartcopythresholdsize", 0...(5 << 30), default: 32 << 20)
        let storageClass = (try r.string(p + "storageclass") ?? "STANDARD").uppercased()
        guard storageClasses.contains(storageClass) else {
            throw ConfigError("\(p)storageclass: one of \(storageClasses.sorted().joined(separator: ", ")), got \(storageClass.prefix(40))")
        }
        s.storageClass = storageClass
        s.objectACL = try r.string(p + "objectacl") ?? "private"
        guard cannedACLs.contains(s.objectACL) else {
            throw ConfigError("\(p)objectacl: one of \(cannedACLs.sorted().joined(separator: ", ")), got \(s.objectACL.prefix(40))")
        }
        // YAML's `off` reads as the string "off" here, as Distribution treats it.
        s.logLevel = (try r.string(p + "loglevel") ?? "off").lowercased()
        if s.logLevel == "false" { s.logLevel = "off" }
        s.redirectEndpoint = try r.string(p + "redirectendpoint").flatMap { $0.isEmpty ? nil : $0 }
        _ = try r.string(p + "useragent")
        for unsupported in ["accelerate", "usedualstack", "usefipsendpoint"] where try r.bool(p + unsupported) == true {
            throw ConfigError("\(p)\(unsupported): not supported by Berth (set regionendpoint to the endpoint instead)")
        }
        return s
    }
}
