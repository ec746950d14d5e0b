import Dispatch
import DyNN
import Foundation
import Testing
@testable import DyServe

/// The model repository extension: index, load, reload, unload, their errors, and readiness.
@Suite struct ModelRepositoryTests {
    /// A models folder with one sub-folder (holding a `model.json`) per name.
    static func folder(_ names: [String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyserve-repo-\(UUID().uuidString)")
        for name in names {
            let sub = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: sub.appendingPathComponent("model.json"))
        }
        return dir
    }

    /// Loads `TestModel`s named after the folder; names in `failing` throw.
    final class Loader: @unchecked Sendable {
        private let lock = NSLock()
        private var failing: Set<String> = []
        private var calls = 0
        func fail(_ names: Set<String>) { lock.withLock { failing = names } }
        var loads: Int { lock.withLock { calls } }
        func load(_ name: String) throws -> any ServableModel {
            struct Broken: Error, CustomStringConvertible { var description: String }
            let fails = lock.withLock { calls += 1; return failing.contains(name) }
            if fails { throw Broken(description: "model.json of \(name) is not valid") }
            return TestModel(name: name)
        }
    }

    struct Setup {
        let api: APIHarness
        let loader: Loader
        let registry: ModelRegistry
        let directory: URL
    }

    func setUp(folders: [String] = ["test", "other", "broken"]) throws -> Setup {
        let directory = try Self.folder(folders)
        let registry = ModelRegistry(models: ["test": TestModel()])
        let loader = Loader()
        loader.fail(["broken"])
        let repository = ModelRepository(directory: directory, registry: registry, metrics: nil,
                                          loader: { try loader.load($0) }, drain: { _ in })
        return Setup(api: APIHarness(registry: registry, repository: repository), loader: loader, registry: registry,
                     directory: directory)
    }

    func index(_ api: APIHarness, body: String = "") -> [String: [String: Any]] {
        let r = api.call(HTTPRequest(method: "POST", path: "/v2/repository/index", body: Array(body.utf8)))
        #expect(r.status == 200, "\(r.text)")
        let rows = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as? String ?? "", $0) })
    }

    func post(_ api: APIHarness, _ path: String, body: String = "") -> HTTPResponse {
        api.call(HTTPRequest(method: "POST", path: path, body: Array(body.utf8)))
    }

    static let infer = #"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "FP32", "data": [1, 1, 0, 0]}]}"#

    @Test func indexListsEveryFolderWithItsState() throws {
        let s = try setUp()
        defer { s.api.pool?.shutdown() }
        let rows = index(s.api)
        #expect(Set(rows.keys) == ["test", "other", "broken"])
        #expect(rows["test"]?["state"] as? String == "READY" && rows["test"]?["version"] as? String == "1")
        #expect(rows["other"]?["state"] as? String == "UNAVAILABLE" && rows["other"]?["reason"] as? String == "not loaded")
        #expect(index(s.api, body: #"{"ready": true}"#).keys.sorted() == ["test"])
        #expect(index(s.api, body: #"{"ready": false}"#).count == 3)
        let bad = post(s.api, "/v2/repository/index", body: #"{"ready": "yes"}"#)
        #expect(bad.status == 400 && bad.errorMessage.contains("expected a boolean"))
        #expect(post(s.api, "/v2/repository/index", body: "[").status == 400)
        let get = s.api.get("/v2/repository/index")
        #expect(get.status == 405 && get.header("allow") == "POST")
    }

    @Test func loadServesANewModelWithoutARestart() throws {
        let s = try setUp()
        defer { s.api.pool?.shutdown() }
        #expect(s.api.post(Self.infer, path: "/v2/models/other/infer").status == 404)
        let load = post(s.api, "/v2/repository/models/other/load")
        #expect(load.status == 200 && load.json["state"] as? String == "READY", "\(load.text)")
        #expect(s.api.post(Self.infer, path: "/v2/models/other/infer").status == 200)
        #expect(index(s.api)["other"]?["state"] as? String == "READY")
        #expect(s.api.get("/v2/health/ready").status == 200)
        #expect(s.api.get("/readyz").status == 200)
    }

    @Test func aFolderThatFailsToLoadHarmsNothingElse() throws {
        let s = try setUp()
        defer { s.api.pool?.shutdown() }
        let broken = post(s.api, "/v2/repository/models/broken/load")
        #expect(broken.status == 503 && broken.errorMessage.contains("model.json of broken is not valid"))
        let row = index(s.api)["broken"]
        #expect(row?["state"] as? String == "UNAVAILABLE" && (row?["reason"] as? String)?.contains("not valid") == true)
        #expect(s.api.get("/v2/health/ready").status == 200)
        #expect(s.api.post(Self.infer, path: "/v2/models/test/infer").status == 200)
        // A reload that fails leaves the version serving.
        s.loader.fail(["test"])
        let reload = post(s.api, "/v2/repository/models/test/load")
        #expect(reload.status == 503 && reload.errorMessage.contains("the version loaded before still serves"))
        #expect(s.api.post(Self.infer, path: "/v2/models/test/infer").status == 200)
        let test = index(s.api)["test"]
        #expect(test?["state"] as? String == "READY" && (test?["reason"] as? String)?.contains("the last load failed") == true)
        s.loader.fail([])
        #expect(post(s.api, "/v2/repository/models/test/load").status == 200)
        #expect(index(s.api)["test"]?["reason"] as? String == "")
    }

    @Test func unloadThenLoadAgain() throws {
        let s = try setUp()
        defer { s.api.pool?.shutdown() }
        // tritonclient's unload_model always sends unload_dependents.
        let unload = post(s.api, "/v2/repository/models/test/unload", body: #"{"parameters": {"unload_dependents": false}}"#)
        #expect(unload.status == 200 && unload.json["state"] as? String == "UNAVAILABLE", "\(unload.text)")
        let refused = s.api.post(Self.infer, path: "/v2/models/test/infer")
        #expect(refused.status == 503 && refused.header("retry-after") == "1" && refused.errorMessage.contains("is unloaded"))
        #expect(s.api.post(inferBody([[1, 0, 0, 0]])).status == 503)
        #expect(index(s.api)["test"]?["reason"] as? String == "unloaded")
        // An unloaded model is not a reason to stop routing traffic here.
        #expect(s.api.get("/v2/health/ready").status == 200)
        #expect(s.api.get("/models").json.description.contains("unloaded"))
        #expect(post(s.api, "/v2/repository/models/test/load").status == 200)
        #expect(s.api.post(Self.infer, path: "/v2/models/test/infer").status == 200)
    }

    @Test func badCallsAreRefused() throws {
        let s = try setUp()
        defer { s.api.pool?.shutdown() }
        let missing = post(s.api, "/v2/repository/models/nope/load")
        #expect(missing.status == 404 && missing.errorMessage.contains("no model folder \"nope\""))
        #expect(post(s.api, "/v2/repository/models/..%2Fetc/load").status == 400)
        #expect(post(s.api, "/v2/repository/models/.hidden/load").status == 400)
        #expect(post(s.api, "/v2/repository/models/nope/unload").status == 404)
        let overrides = post(s.api, "/v2/repository/models/other/load", body: #"{"parameters": {"config": "{}"}}"#)
        #expect(overrides.status == 400 && overrides.errorMessage.contains("parameters.config is not supported"))
        let dependents = post(s.api, "/v2/repository/models/other/load", body: #"{"parameters": {"unload_dependents": true}}"#)
        #expect(dependents.status == 400)
        let notBool = post(s.api, "/v2/repository/models/test/unload", body: #"{"parameters": {"unload_dependents": 1}}"#)
        #expect(notBool.status == 400 && notBool.errorMessage.contains("expected a boolean"))
        #expect(post(s.api, "/v2/repository/models/other/load", body: #"{"parameters": {}}"#).status == 200)
        #expect(s.api.get("/v2/repository/models/other/load").status == 405)
        #expect(s.loader.loads == 1)
    }

    @Test func withoutARepositoryTheEndpointsSaySo() {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let r = post(api, "/v2/repository/index")
        #expect(r.status == 404 && r.errorMessage.contains("model repository is not enabled"))
    }

    @Test func unloadAnswersQueuedAndRunningRequestsFirst() throws {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1))
        let executor = h.executor
        let repository = ModelRepository(directory: try Self.folder(["test"]), registry: h.registry, metrics: nil,
                                          loader: { _ in TestModel() },
                                          drain: { _ = executor.waitUntilIdle(model: $0, timeout: .seconds(30)) })
        let log = OrderLog()
        let running = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        let queued = h.send(inferBody([[0, 1, 0, 0]]))
        h.waitUntilQueued(1)
        let unloaded = DispatchSemaphore(value: 0)
        repository.unload("test") { error in
            log.append("unloaded \(error.map { "\($0)" } ?? "ok") after \(running.isAnswered && queued.isAnswered ? "both" : "not both")")
            unloaded.signal()
        }
        // New requests are refused once the unload began...
        waitUntil("the unload begins") { isUnloaded(h.registry) }
        #expect(h.send(inferBody([[0, 0, 1, 0]])).wait().status == 503)
        // ...while the admitted ones are answered before the unload returns.
        model.release()
        #expect(running.wait().status == 200)
        #expect(queued.wait().status == 200)
        #expect(unloaded.wait(timeout: .now() + 30) == .success)
        #expect(log.entries == ["unloaded ok after both"])
        h.executor.shutdown()
    }
}

private func isUnloaded(_ registry: ModelRegistry) -> Bool {
    if case .unloaded? = registry.state(of: "test") { return true }
    return false
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ s: String) { lock.withLock { items.append(s) } }
    var entries: [String] { lock.withLock { items } }
}

/// `models.poll_interval_s`: new, changed and removed folders are loaded, reloaded and unloaded.
@Suite struct ModelRepositoryPollerTests {
    @Test func newChangedAndRemovedFoldersFollowTheDirectory() throws {
        let directory = try ModelRepositoryTests.folder(["test"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let registry = ModelRegistry(models: ["test": TestModel()])
        let loader = ModelRepositoryTests.Loader()
        let repository = ModelRepository(directory: directory, registry: registry, metrics: nil,
                                          loader: { try loader.load($0) }, drain: { _ in })
        let poller = ModelRepositoryPoller(repository: repository, intervalSeconds: 3600)
        poller.poll()  // the first look only records
        #expect(loader.loads == 0)

        let fresh = directory.appendingPathComponent("fresh")
        try FileManager.default.createDirectory(at: fresh, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: fresh.appendingPathComponent("model.json"))
        poller.poll()
        #expect(loader.loads == 1)
        #expect(repository.index().first { $0.name == "fresh" }?.state == "READY")

        // A changed file reloads; a folder that fails to load is reported, the others serve on.
        try Data("{\"changed\": 1}".utf8).write(to: directory.appendingPathComponent("test/model.json"))
        loader.fail(["test"])
        poller.poll()
        #expect(loader.loads == 2)
        #expect(repository.index().first { $0.name == "test" }?.reason.contains("the last load failed") == true)
        #expect(registry.readiness().ready)

        try FileManager.default.removeItem(at: fresh)
        poller.poll()
        if case .unloaded? = registry.state(of: "fresh") {} else { Issue.record("fresh is not unloaded") }
        #expect(loader.loads == 2)
    }
}

@Suite struct ModelLoadMetricsTests {
    @Test func loadsAndFailuresAreExported() throws {
        let metrics = ServiceMetrics()
        let loader = ModelRepositoryTests.Loader()
        loader.fail(["broken"])
        let repository = ModelRepository(directory: try ModelRepositoryTests.folder(["good", "broken"]),
                                          registry: ModelRegistry(names: []), metrics: metrics,
                                          loader: { try loader.load($0) }, drain: { _ in })
        try repository.loadNow("good")
        #expect(throws: RequestError.self) { try repository.loadNow("broken") }
        let text = String(decoding: metrics.render(store: nil, ready: true), as: UTF8.self)
        #expect(text.contains(#"dyserve_model_load_duration_seconds_count{model="good"} 1"#))
        #expect(text.contains(#"dyserve_model_load_duration_seconds_count{model="broken"} 1"#))
        #expect(text.contains(#"dyserve_model_load_failures_total{model="broken"} 1"#))
        #expect(text.contains(#"dyserve_model_load_failures_total{model="good"} 0"#))
    }
}
