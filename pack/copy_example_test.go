package pack_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/sign"
)

func ExampleCopy() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "runid-copy")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	src, err := oci.NewWithContext(ctx, filepath.Join(dir, "src"))
	if err != nil {
		fmt.Println(err)
		return
	}
	dst, err := oci.NewWithContext(ctx, filepath.Join(dir, "dst"))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := pack.Load(ctx, filepath.Join(examplesDir, "minimal", "runid.yaml"), pack.BuildOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := pack.Push(ctx, src, c, pack.PushOptions{Tag: "v1"}); err != nil {
		fmt.Println(err)
		return
	}
	privPEM, _, err := sign.GenerateKeyPair([]byte("password"))
	if err != nil {
		fmt.Println(err)
		return
	}
	signer, err := sign.LoadPrivateKey(privPEM, []byte("password"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := sign.Sign(ctx, src, "v1", signer, sign.SignOptions{}); err != nil {
		fmt.Println(err)
		return
	}

	// The identity, its signature manifest (a referrer) and the .sig tag.
	res, err := pack.Copy(ctx, src, "v1", dst, "", pack.CopyOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Descriptor.Digest == c.Digest(), res.Tag, len(res.Referrers), len(res.SignatureTags))
	// Output: true v1 1 1
}
