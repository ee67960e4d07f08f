/// A page's lines are independent reads of the storage (a link, a manifest, a stat each):
/// done `width` at a time, in order, so the page waits for the slowest few, not their sum.
extension Sequence where Element: Sendable {
    func concurrentMap<T: Sendable>(width: Int = 16, _ transform: @escaping @Sendable (Element) async -> T) async -> [T] {
        let items = Array(self)
        guard items.count > 1 else { return await items.asyncMap(transform) }
        return await withTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: items.count)
            var next = 0
            func start() {
                let index = next
                let item = items[index]
                group.addTask { (index, await transform(item)) }
                next += 1
            }
            while next < Swift.min(width, items.count) { start() }
            while let (index, value) = await group.next() {
                results[index] = value
                if next < items.count { start() }
            }
            return results.map { $0! }
        }
    }

    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var results: [T] = []
        for item in self { results.append(await transform(item)) }
        return results
    }
}
