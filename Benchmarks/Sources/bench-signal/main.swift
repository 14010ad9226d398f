print("bench-signal: not built yet")
