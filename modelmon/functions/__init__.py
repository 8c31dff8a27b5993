"""What every deployable function shares: its Nuclio glue, its dead letters and its role."""
