import DyNN
import Testing

/// Each backend states what its executions need, and the engines it builds for that.
@Suite struct ExecutionNeedsTests {
    @Test func referenceExecutionsRunOnOneThreadEach() {
        let needs = Backend.reference.executionNeeds(multiplyAdds: 300_000_000, cores: 4)
        #expect(needs == ExecutionNeeds(threadsPerExecution: 1, cores: 4))
        #expect(needs.concurrentExecutions == 4)
    }

    @Test func fastExecutionsSpreadOverTheCoresUnlessTheModelIsSmall() {
        let small = Backend.fast.executionNeeds(multiplyAdds: FastEngine.singleThreadMaxMultiplyAdds - 1, cores: 2)
        #expect((small.threadsPerExecution, small.concurrentExecutions) == (1, 2))
        let large = Backend.fast.executionNeeds(multiplyAdds: FastEngine.singleThreadMaxMultiplyAdds, cores: 2)
        #expect((large.threadsPerExecution, large.concurrentExecutions) == (2, 1))
    }

    @Test func configuredThreadsWinAndAreClampedToTheCores() {
        #expect(Backend.fast.executionNeeds(multiplyAdds: 1, cores: 8, intraOpThreads: 3)
                == ExecutionNeeds(threadsPerExecution: 3, cores: 8))
        #expect(ExecutionNeeds(threadsPerExecution: 3, cores: 8).concurrentExecutions == 2)
        #expect(ExecutionNeeds(threadsPerExecution: 16, cores: 2).threadsPerExecution == 2)
        #expect(ExecutionNeeds(threadsPerExecution: 0, cores: 0) == ExecutionNeeds(threadsPerExecution: 1, cores: 1))
    }

    @Test func engines() throws {
        let model = try FastFailureTests.digits()
        let reference = try Backend.reference.makeEngines(for: model, needs: ExecutionNeeds(threadsPerExecution: 1, cores: 2))
        #expect(reference.count == 1 && reference[0] is Model, "one reference model serves every execution")
        let fast = try Backend.fast.makeEngines(for: model, needs: ExecutionNeeds(threadsPerExecution: 1, cores: 2),
                                                options: FastEngineOptions(batchSizes: [2]))
        let engines = fast.compactMap { $0 as? FastEngine }
        #expect(engines.count == 2, "one fast engine per execution at once")
        #expect(engines.map(\.options.lane) == [0, 1])
        #expect(engines.allSatisfy { $0.options.threads == 1 && $0.plannedBatchSizes == [1, 2] })
    }

    @Test func theFastBackendAsksForAFiniteSpinUnlessTheOperatorChose() {
        #expect(Backend.fast.startupEnvironment(given: [:]).keys.sorted() == ["GOMP_SPINCOUNT"])
        #expect(Backend.fast.startupEnvironment(given: ["OMP_WAIT_POLICY": "passive"]).isEmpty)
        #expect(Backend.fast.startupEnvironment(given: ["GOMP_SPINCOUNT": "0"]).isEmpty)
        #expect(Backend.reference.startupEnvironment(given: [:]).isEmpty)
    }
}
