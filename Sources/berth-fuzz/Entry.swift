import Foundation

#if FUZZING
/// libFuzzer's entry point; the target is chosen by `BERTH_FUZZ_TARGET`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let name = ProcessInfo.processInfo.environment["BERTH_FUZZ_TARGET"] ?? "manifest"
    guard let target = FuzzTargets.all[name] else { fatalError("unknown BERTH_FUZZ_TARGET \(name)") }
    target(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
/// `berth-fuzz DIRECTORY`: runs every target on every file below DIRECTORY/<target>/ (the
/// committed seed corpus and the crashes fuzzing found), so they stay fixed.
@main
struct Replay {
    static func main() {
        let root = CommandLine.arguments.dropFirst().first ?? "Tests/fuzz-corpus"
        var files = 0
        for (name, target) in FuzzTargets.all.sorted(by: { $0.key < $1.key }) {
            let directory = URL(fileURLWithPath: root).appendingPathComponent(name)
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for entry in entries.sorted() {
                guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(entry).path) else { continue }
                target(Array(data))
                files += 1
            }
        }
        print("replayed \(files) inputs through \(FuzzTargets.all.count) fuzz targets")
    }
}
#endif
