print("vkmem")
