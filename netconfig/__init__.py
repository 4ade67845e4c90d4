"""netconfig: the intended config of every device, rendered from the estate, and drivers that
read and write real devices (FRR, nftables, Linux in the lab; IOS, VRP, Comware over SSH)."""
