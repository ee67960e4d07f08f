import OCI
import Accounts
import Storage

/// Each namespace's quota beside what it uses, for `berth policy ls`, the admin API, the web
/// UI and `/metrics`.
public struct QuotaUsage: Sendable, Codable, Equatable {
    public var namespace: String
    public var limit: Int64
    /// Nil when the storage could not be read (the reason is in `problem`).
    public var used: Int64?
    public var blobs: Int?
    public var problem: String?

    public static func report(_ records: [RepositoryPolicyRecord], usage: NamespaceUsage) async -> [QuotaUsage] {
        var rows: [QuotaUsage] = []
        for record in records where record.kind == "quota" {
            guard let namespace = record.spec["namespace"], let limit = try? ByteSize(parsing: record.spec["size"] ?? "") else { continue }
            var row = QuotaUsage(namespace: namespace, limit: limit.bytes)
            do {
                let figure = try await usage.usage(namespace)
                row.used = figure.bytes
                row.blobs = figure.blobs
            } catch {
                row.problem = String(describing: error)
            }
            rows.append(row)
        }
        return rows
    }

    /// `1.2 GiB of 10.0 GiB (12%)`.
    public var summary: String {
        guard let used else { return "unknown of \(ByteSize(bytes: limit)) (\(problem ?? "not measured"))" }
        let percent = limit > 0 ? Int((Double(used) / Double(limit) * 100).rounded()) : 100
        return "\(ByteSize(bytes: used)) of \(ByteSize(bytes: limit)) (\(percent)%)"
    }
}
