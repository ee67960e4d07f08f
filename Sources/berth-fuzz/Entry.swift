import Foundation

#if FUZZING
/// libFuzzer's entry point; the target is chosen by `BERTH_FUZZ_TARGET`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let target = FuzzTargets.all[ProcessInfo.processInfo.environment["BERTH_FUZZ_TARGET"] ?? "manifest"]!
    target(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point as `<module>_main`; here it hands over to
/// libFuzzer's driver.
@_cdecl("berth_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let name = ProcessInfo.processInfo.environment["BERTH_FUZZ_TARGET"] ?? "manifest"
    guard FuzzTargets.all[name] != nil else {
        FileHandle.standardError.write(Data("unknown BERTH_FUZZ_TARGET \(name); one of \(FuzzTargets.all.keys.sorted())\n".utf8))
        return 2
    }
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzOne)
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
