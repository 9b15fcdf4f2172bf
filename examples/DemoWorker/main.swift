print("smrt-demo-worker: not built yet")
