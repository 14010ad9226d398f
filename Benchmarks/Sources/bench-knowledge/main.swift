print("bench-knowledge: not built yet")
