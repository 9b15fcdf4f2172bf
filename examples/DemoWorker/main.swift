import SmrtJobs
import SmrtWorker

// smrt-demo-worker: a worker whose jobs misbehave on request, to exercise the supervisor end to end.
let registry = ObjectRegistry()
Demo.register(in: registry)
SmrtWorker.run(registry: registry)
