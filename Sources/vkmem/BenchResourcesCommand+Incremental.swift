import ArgumentParser
import VulkanMemory
import Workloads

extension BenchResourcesCommand {
    /// `--defragment incremental`: W3 with a moving pass every `interval` steps.
    func runIncremental(_ context: VulkanContext) throws {
        var workload = ResourceWorkload(live: live, steps: steps, seed: seed)
        workload.strategy = VirtualWorkloadStrategy(rawValue: strategy)?.strategy ?? .bestFit
        var options = AllocatorOptions()
        if let pageMiB { options.deviceLocalPageSize = pageMiB << 20 }
        var runs: [IncrementalDefragmentationRun] = []
        let progress = ProgressLine("bench resources --defragment incremental", total: self.runs, quiet: json)
        for run in 0..<self.runs {
            progress.update(run, "runs, \(steps) steps each")
            runs.append(try workload.runIncremental(on: context.device, queue: context.queue.handle,
                                                    queueFamilyIndex: context.queueFamilyIndex, interval: interval,
                                                    budget: budgetMiB << 20, warmUpSteps: warmUp, options: options))
        }
        progress.finish()
        let r = runs.sorted { $0.maxRatio < $1.maxRatio }[runs.count / 2]
        let copies = r.copyNanoseconds.sorted()
        let plans = r.planNanoseconds.sorted()
        func percentile(_ values: [Double], _ p: Double) -> Double {
            values.isEmpty ? 0 : values[min(values.count - 1, Int(Double(values.count) * p))]
        }
        let meanCopy = copies.isEmpty ? 0 : copies.reduce(0, +) / Double(copies.count)
        let meanPlan = plans.isEmpty ? 0 : plans.reduce(0, +) / Double(plans.count)
        if json {
            print("{\"workload\": \"W3 incremental\", \"interval\": \(interval), \"budget_bytes\": \(r.budget), "
                  + "\"warm_up_steps\": \(r.warmUpSteps), \"max_ratio\": \(r.maxRatio), \"max_ratio_step\": \(r.maxRatioStep), "
                  + "\"max_ratio_with_warm_up\": \(r.maxRatioWithWarmUp), \"live_dip_bound\": \(r.liveDipBound), \"final_ratio\": \(r.finalRatio), "
                  + "\"passes\": \(r.passes), \"steps_tried\": \(r.stepsTried), \"moved_bytes\": \(r.movedBytes), "
                  + "\"mean_moved_bytes\": \(oneDecimal(r.meanMovedBytes)), \"max_moved_bytes\": \(r.maxMovedBytes), "
                  + "\"released_pages\": \(r.releasedPages), \"max_memory_objects\": \(r.maxMemoryObjects), "
                  + "\"final_memory_objects\": \(r.finalMemoryObjects), \"checked_buffers\": \(r.checkedBuffers), "
                  + "\"mismatched_buffers\": \(r.mismatchedBuffers), \"mean_copy_ns\": \(oneDecimal(meanCopy)), "
                  + "\"p99_copy_ns\": \(oneDecimal(percentile(copies, 0.99))), \"max_copy_ns\": \(oneDecimal(copies.last ?? 0)), "
                  + "\"mean_plan_ns\": \(oneDecimal(meanPlan)), \"device\": \"\(context.device.info.name)\", \"runs\": \(self.runs)}")
        } else {
            print("W3 on \(context.device.info.name) with a moving pass every \(interval) steps of at most "
                  + "\(formatBytes(r.budget)), \(steps) steps, \(live) live buffers (median of \(self.runs) runs by max ratio)")
            print("  committed / live, max after \(r.warmUpSteps) warm-up steps: \(oneDecimal(r.maxRatio * 100))% (step \(r.maxRatioStep))")
            print("  floor from live's own dips between passes (committed = live at each pass): \(oneDecimal(r.liveDipBound * 100))%")
            print("  max including warm-up: \(oneDecimal(r.maxRatioWithWarmUp * 100))%, at the end: \(oneDecimal(r.finalRatio * 100))%")
            print("  passes: \(r.passes) of \(r.stepsTried) tried, \(formatBytes(r.movedBytes)) moved, "
                  + "\(formatBytes(UInt64(r.meanMovedBytes))) per pass (max \(formatBytes(r.maxMovedBytes))), \(r.releasedPages) pages released")
            print("  VkDeviceMemory objects (pages and dedicated): at most \(r.maxMemoryObjects) after warm-up, "
                  + "\(r.finalMemoryObjects) at the end")
            print("  data: \(r.checkedBuffers) live buffers read back at the end, \(r.mismatchedBuffers) not as written")
            print("  GPU copy per pass (submit + fence wait): mean \(oneDecimal(meanCopy / 1e3)) µs, "
                  + "p99 \(oneDecimal(percentile(copies, 0.99) / 1e3)) µs, max \(oneDecimal((copies.last ?? 0) / 1e3)) µs")
            print("  host side per pass (plan, re-create, record): mean \(oneDecimal(meanPlan / 1e3)) µs")
        }
        if r.mismatchedBuffers > 0 {
            printError("\(r.mismatchedBuffers) buffers lost their data across the moves")
            throw ExitCode(1)
        }
        if let log = context.validationLog, !log.messages.isEmpty {
            printError("validation messages:")
            log.messages.prefix(20).forEach { printError("  \($0)") }
            throw ExitCode(1)
        }
    }
}
