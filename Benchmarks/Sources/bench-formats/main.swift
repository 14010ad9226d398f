print("bench-formats: not built yet")
