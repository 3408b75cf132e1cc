module kinds

go 1.24
