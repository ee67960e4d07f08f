import OCI
import ArgumentParser
import Config
import Foundation
import Logging
import Assembly
import Storage

struct GarbageCollect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete blobs (and optionally untagged manifests) nothing references.",
        discussion: """
        Safe while `berth serve` runs on the same storage: blobs and manifests younger than \
        the grace period are never collected, and a blob a push starts referencing during \
        the run is kept. Also accepts Distribution's `registry garbage-collect` arguments.
        """,
        aliases: ["garbage-collect"])

    @OptionGroup var storage: StorageOptions

    @Argument(help: "The configuration file, as `registry garbage-collect FILE` takes it.")
    var configFile: String?

    @Flag(name: [.customShort("d"), .long], help: "Report what would be deleted; change nothing.")
    var dryRun = false

    @Flag(name: [.customShort("m"), .long], help: "Also delete manifests no tag reaches (index children and referrers of kept manifests stay).")
    var deleteUntagged = false

    @Option(help: "Keep anything written more recently than this (Go duration, e.g. 1h, 30m).")
    var grace = "1h"

    @Option(help: "How long to let pushes in flight finish before deleting (Go duration).")
    var settle = "5s"

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Report unfinished uploads started longer ago than this as abandoned (Go duration).")
    var uploadsOlderThan = "24h"

    @Flag(help: "Also delete those abandoned uploads (serve purges them after storage.maintenance.uploadpurging.age, 168h by default).")
    var purgeUploads = false

    func run() async throws {
        guard let graceSeconds = GoDuration.seconds(grace), graceSeconds >= 0 else { throw ValidationError("--grace: not a duration: \(grace)") }
        guard let settleSeconds = GoDuration.seconds(settle), settleSeconds >= 0 else { throw ValidationError("--settle: not a duration: \(settle)") }
        guard let uploadAge = GoDuration.seconds(uploadsOlderThan), uploadAge >= 0 else {
            throw ValidationError("--uploads-older-than: not a duration: \(uploadsOlderThan)")
        }
        let store = try storage.store(configFile)
        let progress = TerminalProgress()
        let collector = GarbageCollector(store: store, options: .init(
            dryRun: dryRun, deleteUntagged: deleteUntagged, gracePeriod: graceSeconds, settleTime: settleSeconds))
        let report = try await collector.run { phase, done, total in
            progress.update(phase.rawValue, done, total)
        }
        progress.finish()
        let uploads = try await store.removeUploads(startedBefore: Date(timeIntervalSinceNow: -uploadAge), dryRun: dryRun || !purgeUploads)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            // The collector's report, with the abandoned uploads beside it.
            var object = try JSONSerialization.jsonObject(with: try encoder.encode(report)) as? [String: Any] ?? [:]
            object["abandonedUploads"] = try JSONSerialization.jsonObject(with: try encoder.encode(uploads))
            object["abandonedUploadsRemoved"] = purgeUploads && !dryRun
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let verb = dryRun ? "would delete" : "deleted"
        for manifest in report.deletedManifests { print("\(verb) manifest \(manifest)") }
        for blob in report.deletedBlobs { print("\(verb) blob \(blob)") }
        print("""
            \(report.repositories) repositories, \(report.manifestsMarked) manifests and \(report.blobsMarked) blobs in use; \
            \(verb) \(report.deletedManifests.count) manifests and \(report.deletedBlobs.count) of \(report.blobsScanned) blobs \
            (\(ByteSize(bytes: report.bytesFreed).description)); kept \(report.blobsTooYoung) younger than \(grace)\
            \(report.rescuedBlobs.isEmpty ? "" : ", \(report.rescuedBlobs.count) referenced by pushes during the run")
            """)
        if !uploads.isEmpty {
            let bytes = ByteSize(bytes: uploads.reduce(0) { $0 + $1.bytes }).description
            let what = "\(uploads.count) abandoned upload\(uploads.count == 1 ? "" : "s") older than \(uploadsOlderThan) (\(bytes))"
            if purgeUploads {
                for upload in uploads { print("\(dryRun ? "would delete" : "deleted") upload \(upload.upload)") }
                print("\(dryRun ? "would delete" : "deleted") \(what)")
            } else {
                print("\(what): delete them with --purge-uploads")
            }
        }
    }
}
