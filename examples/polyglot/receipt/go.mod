module receipt

go 1.24
