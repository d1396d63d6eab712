package python_test

import (
	"context"
	"fmt"
	"os"

	"wasmbox/runtime"
	"wasmbox/runtime/python"
)

func Example() {
	ctx := context.Background()
	eng, err := python.New(ctx, python.WithPoolSize(0))
	if err != nil {
		panic(err)
	}
	defer eng.Close(ctx)
	dir, _ := os.MkdirTemp("", "workspace")
	defer os.RemoveAll(dir)

	ip, err := eng.New(ctx, dir)
	if err != nil {
		panic(err)
	}
	defer ip.Close()
	ip.Run(ctx, runtime.Request{Code: "x = 6"})
	res, _ := ip.Run(ctx, runtime.Request{Code: "x * 7"})
	fmt.Print(res.Stdout)
	res, _ = ip.Run(ctx, runtime.Request{Code: "1/0"})
	fmt.Println(res.Error.Kind, res.Error.Type)
	// Output:
	// 42
	// exception ZeroDivisionError
}
