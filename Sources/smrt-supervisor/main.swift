print("smrt-supervisor: not built yet")
