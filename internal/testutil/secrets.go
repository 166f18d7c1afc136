package testutil

import (
	"strings"

	"github.com/runid/runid-oci/pack/scan"
)

// Credential-shaped test strings are assembled at run time from pieces, so
// that this repository holds none that a secret scanner would flag.
// Repeat repeats s n times.
func Repeat(s string, n int) string { return strings.Repeat(s, n) }

// FakeSecret is a fake credential of one kind, in the line of text it
// sits in.
type FakeSecret struct {
	Kind   scan.SecretKind
	Secret string // the credential itself: must never be reported
	Line   string
}

// FakeSecrets returns one fake credential per kind, with the line of text
// it sits in.
func FakeSecrets() []FakeSecret {
	awsID := "AK" + "IA" + "Q3EGRX7HZ5TVB2LM"
	awsSecret := "wJal" + "rXUtnFEMI/K7MDENG/bPxRfiCY" + "Q3EGRX7HZ5"
	openai := "sk-" + "proj-" + Repeat("Ab3d", 12)
	anthropic := "sk-" + "ant-" + "api03-" + Repeat("x9Yz", 20)
	github := "gh" + "p_" + Repeat("aB1c", 9)
	githubPAT := "github" + "_pat_" + "11ABCDEFG0" + Repeat("q7W", 20)
	slack := "xo" + "xb-" + "1234567890-0987654321-" + Repeat("AbCd", 6)
	google := "AI" + "za" + "Sy" + Repeat("B7x_", 8) + "k"
	stripe := "sk" + "_live_" + Repeat("4eC39Hq", 4)
	pem := "-----BEGIN " + "RSA PRIVATE" + " KEY-----"
	openssh := "-----BEGIN " + "OPENSSH PRIVATE" + " KEY-----"
	jwt := "ey" + "JhbGciOiJIUzI1NiJ9" + ".ey" + "JzdWIiOiIxMjM0In0" + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	bearer := Repeat("Zm9vYmFy", 3) + "42"
	pg := "hunter" + "2-Str0ng"
	hf := "hf" + "_" + Repeat("aBcDeFgHiJ", 3) + "kLm9"
	wandb := Repeat("0a1b2c3d4e", 4)
	azure := Repeat("9f8e7d6c", 4)
	azureLong := Repeat("Ab3dEf7h", 10) + "JQQJ"
	slackApp := "xa" + "pp-1-A0123456789-0123456789012-" + Repeat("a1b2", 8)
	return []FakeSecret{
		{scan.SecretAWSAccessKeyID, awsID, "aws_access_key_id = " + awsID},
		{scan.SecretAWSSecretAccessKey, awsSecret, "aws_secret_access_key: " + awsSecret},
		{scan.SecretOpenAIKey, openai, "OPENAI_API_KEY=" + openai},
		{scan.SecretAnthropicKey, anthropic, "key: " + anthropic},
		{scan.SecretGitHubToken, github, "token " + github + " for CI"},
		{scan.SecretGitHubToken, githubPAT, "GH_TOKEN=" + githubPAT},
		{scan.SecretSlackToken, slack, "slack: " + slack},
		{scan.SecretGoogleAPIKey, google, "https://maps.example.com/api?key=" + google},
		{scan.SecretStripeKey, stripe, "stripe_key: " + stripe},
		{scan.SecretPrivateKey, pem, pem},
		{scan.SecretPrivateKey, openssh, openssh},
		{scan.SecretJWT, jwt, "session=" + jwt},
		{scan.SecretBearerToken, bearer, "Authorization: Bearer " + bearer},
		{scan.SecretBearerToken, bearer, `curl -H "authorization: bearer ` + bearer + `" https://api.example.com`},
		{scan.SecretHuggingFaceToken, hf, "HF_TOKEN=" + hf},
		{scan.SecretHuggingFaceToken, hf, "huggingface-cli login --token " + hf},
		{scan.SecretWandBKey, wandb, "WANDB_API_KEY=" + wandb},
		{scan.SecretWandBKey, wandb, `wandb_api_key: "` + wandb + `"`},
		{scan.SecretAzureOpenAIKey, azure, "AZURE_OPENAI_API_KEY=" + azure},
		{scan.SecretAzureOpenAIKey, azureLong, "azure_openai_key: " + azureLong},
		{scan.SecretSlackToken, slackApp, "SLACK_APP_TOKEN=" + slackApp},
		{scan.SecretConnectionPassword, pg, "DATABASE_URL=postgres://app:" + pg + "@db.internal:5432/app"},
		{scan.SecretConnectionPassword, pg, "redis: rediss://default:" + pg + "@cache:6380"},
		{scan.SecretConnectionPassword, pg, "Server=sql1;Database=app;User Id=app;Password=" + pg + ";"},
	}
}

// JSONString quotes s as a JSON string (escaping only quotes and
// backslashes, enough for the fake credentials).
func JSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
