"""Pure text metrics shared by evaluation, data filters and rewards."""
