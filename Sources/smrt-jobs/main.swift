print("smrt-jobs: not built yet")
