"""Ground-truth labels: logged to the labels stream, joined to stored predictions by request id."""
