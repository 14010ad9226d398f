print("bench-model: not built yet")
