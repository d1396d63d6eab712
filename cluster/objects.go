// Package cluster keeps what replicas of wasmbox share: sessions' committed state in an
// S3-compatible object store and sessions' leases in Redis. A replica may serve a session only
// while it holds the session's lease; the lease's generation number fences the object store, so
// a replica that lost its lease (paused, cut off) can never write over a newer checkpoint.
//
// It knows nothing of HTTP, MCP or engines: a checkpoint is a session's directory (its
// metadata, history, workspace and Python snapshot) as files.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Errors of the object store; they wrap to these sentinels, so use errors.Is.
var (
	// ErrPrecondition: a conditional write found the object changed (or present, or absent).
	ErrPrecondition = errors.New("cluster: object changed since it was read")
	// ErrNoObject: the object does not exist.
	ErrNoObject = errors.New("cluster: no such object")
	// ErrUnavailable: the store or Redis did not answer; the call may be retried.
	ErrUnavailable = errors.New("cluster: shared store unavailable")
)

// StoreConfig says where the object store is. [ParseStore] makes one from WASMBOX_STORE and the
// usual AWS environment.
type StoreConfig struct {
	Bucket   string
	Prefix   string // keys start with it; "" or ending in "/"
	Endpoint string // host[:port]; "" means AWS S3 in Region
	Secure   bool   // HTTPS
	Region   string
	// Creds is nil for the usual AWS chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
	// (+ AWS_SESSION_TOKEN), the shared credentials file (AWS_PROFILE), then the instance's or
	// pod's role (IAM, IRSA).
	Creds *credentials.Credentials
}

// ParseStore reads a store URL, s3://bucket/prefix, and the endpoint and region the usual AWS
// way: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (an http:// or https:// URL, for MinIO,
// SeaweedFS, Garage, GCS's S3 API and the like; unset for AWS itself), AWS_REGION, else
// AWS_DEFAULT_REGION. getenv is os.Getenv in production.
func ParseStore(raw string, getenv func(string) string) (StoreConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return StoreConfig{}, fmt.Errorf("cluster: store %q: want s3://bucket/prefix", raw)
	}
	c := StoreConfig{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	if c.Prefix != "" {
		c.Prefix += "/"
	}
	c.Region = getenv("AWS_REGION")
	if c.Region == "" {
		c.Region = getenv("AWS_DEFAULT_REGION")
	}
	ep := getenv("AWS_ENDPOINT_URL_S3")
	if ep == "" {
		ep = getenv("AWS_ENDPOINT_URL")
	}
	if ep == "" {
		host := "s3.amazonaws.com"
		if c.Region != "" {
			host = "s3." + c.Region + ".amazonaws.com"
		}
		c.Endpoint, c.Secure = host, true
		return c, nil
	}
	e, err := url.Parse(ep)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || (e.Path != "" && e.Path != "/") {
		return StoreConfig{}, fmt.Errorf("cluster: endpoint %q: want http(s)://host[:port]", ep)
	}
	c.Endpoint, c.Secure = e.Host, e.Scheme == "https"
	return c, nil
}

// Objects is a bucket (under a prefix) of an S3-compatible store. Safe for concurrent use.
type Objects struct {
	client *minio.Client
	bucket string
	prefix string
}

// OpenObjects connects to the store (no request is made until the first call).
func OpenObjects(c StoreConfig) (*Objects, error) {
	creds := c.Creds
	if creds == nil {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.IAM{},
		})
	}
	cl, err := minio.New(c.Endpoint, &minio.Options{Creds: creds, Secure: c.Secure, Region: c.Region})
	if err != nil {
		return nil, fmt.Errorf("cluster: object store %s: %w", c.Endpoint, err)
	}
	return &Objects{client: cl, bucket: c.Bucket, prefix: c.Prefix}, nil
}

// Check makes sure the bucket exists and answers.
func (o *Objects) Check(ctx context.Context) error {
	ok, err := o.client.BucketExists(ctx, o.bucket)
	if err != nil {
		return o.wrap("bucket "+o.bucket, err)
	}
	if !ok {
		return fmt.Errorf("cluster: bucket %q does not exist", o.bucket)
	}
	return nil
}

// Condition of a write.
type Condition struct {
	IfAbsent bool   // only if no object has the key
	IfMatch  string // only if the object's ETag is this
}

// Put writes size bytes from r as key's object under cond, returning the new ETag.
func (o *Objects) Put(ctx context.Context, key string, r io.Reader, size int64, cond Condition) (string, error) {
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: size >= 0 && size < 64<<20}
	switch {
	case cond.IfAbsent:
		opts.SetMatchETagExcept("*")
	case cond.IfMatch != "":
		opts.SetMatchETag(cond.IfMatch)
	}
	info, err := o.client.PutObject(ctx, o.bucket, o.prefix+key, r, size, opts)
	if err != nil {
		return "", o.wrap(key, err)
	}
	return info.ETag, nil
}

// PutBytes is Put of a byte slice.
func (o *Objects) PutBytes(ctx context.Context, key string, b []byte, cond Condition) (string, error) {
	return o.Put(ctx, key, bytes.NewReader(b), int64(len(b)), cond)
}

// Get reads key's object whole (for small objects: heads and manifests), with its ETag.
func (o *Objects) Get(ctx context.Context, key string, max int64) ([]byte, string, error) {
	obj, err := o.client.GetObject(ctx, o.bucket, o.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, "", o.wrap(key, err)
	}
	defer obj.Close()
	st, err := obj.Stat()
	if err != nil {
		return nil, "", o.wrap(key, err)
	}
	if st.Size > max {
		return nil, "", fmt.Errorf("cluster: object %s is %d bytes, more than %d", key, st.Size, max)
	}
	b, err := io.ReadAll(io.LimitReader(obj, max+1))
	if err != nil {
		return nil, "", o.wrap(key, err)
	}
	return b, st.ETag, nil
}

// GetTo streams key's object into w, returning its size.
func (o *Objects) GetTo(ctx context.Context, key string, w io.Writer) (int64, error) {
	obj, err := o.client.GetObject(ctx, o.bucket, o.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return 0, o.wrap(key, err)
	}
	defer obj.Close()
	n, err := io.Copy(w, obj)
	if err != nil {
		return n, o.wrap(key, err)
	}
	return n, nil
}

// Exists reports whether key has an object.
func (o *Objects) Exists(ctx context.Context, key string) (bool, error) {
	_, err := o.client.StatObject(ctx, o.bucket, o.prefix+key, minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if err = o.wrap(key, err); errors.Is(err, ErrNoObject) {
		return false, nil
	}
	return false, err
}

// List returns the keys (without the store's prefix) that start with prefix, in order.
func (o *Objects) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for info := range o.client.ListObjects(ctx, o.bucket, minio.ListObjectsOptions{Prefix: o.prefix + prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, o.wrap(prefix, info.Err)
		}
		keys = append(keys, strings.TrimPrefix(info.Key, o.prefix))
	}
	return keys, nil
}

// ListDirs returns the names one level under prefix (the part of each key between prefix and
// the next "/"), in order, at most max.
func (o *Objects) ListDirs(ctx context.Context, prefix string, max int) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing when max is reached
	var names []string
	for info := range o.client.ListObjects(ctx, o.bucket, minio.ListObjectsOptions{Prefix: o.prefix + prefix}) {
		if info.Err != nil {
			return nil, o.wrap(prefix, info.Err)
		}
		if name, ok := strings.CutSuffix(strings.TrimPrefix(info.Key, o.prefix+prefix), "/"); ok && name != "" {
			names = append(names, name)
			if len(names) == max {
				break
			}
		}
	}
	return names, nil
}

// Delete removes key's object; a missing one is not an error.
func (o *Objects) Delete(ctx context.Context, key string) error {
	if err := o.client.RemoveObject(ctx, o.bucket, o.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		if err = o.wrap(key, err); !errors.Is(err, ErrNoObject) {
			return err
		}
	}
	return nil
}

// DeletePrefix removes every object whose key starts with prefix.
func (o *Objects) DeletePrefix(ctx context.Context, prefix string) error {
	keys, err := o.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := o.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// wrap turns the client's errors into the package's sentinels where one applies.
func (o *Objects) wrap(key string, err error) error {
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.StatusCode == 412 || resp.Code == "PreconditionFailed":
		return fmt.Errorf("%w: %s", ErrPrecondition, key)
	case resp.StatusCode == 404 || resp.Code == "NoSuchKey":
		return fmt.Errorf("%w: %s", ErrNoObject, key)
	case resp.StatusCode >= 500 || resp.StatusCode == 0 && !errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, key, err)
	}
	return fmt.Errorf("cluster: object %s: %w", key, err)
}
