package mongo

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/vetfield/vetfield/domain/mongo/mongotest"
)

func TestZZDebug(t *testing.T) {
	uri := mongotest.Start(t)
	c, _ := mongo.Connect(options.Client().ApplyURI(uri))
	coll := c.Database("dbg").Collection("acc")
	ctx := t.Context()
	_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{"org", 1}, {"no", 1}}, Options: options.Index().SetName("by_org_no").SetUnique(true)})
	t.Log(err)
	_, err = coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{"login", 1}}, Options: options.Index().SetName("by_login").SetUnique(true)})
	t.Log(err)
	_, err = coll.InsertOne(ctx, bson.D{{"_id", "u1"}, {"_v", int64(1)}, {"login", "a"}, {"org", "o"}, {"no", int32(1)}})
	t.Log(err)
	_, err = coll.InsertOne(ctx, bson.D{{"_id", "u2"}, {"_v", int64(1)}, {"login", "b"}, {"org", "o"}, {"no", int32(2)}})
	t.Log(err)
	r, err := coll.ReplaceOne(ctx, bson.D{{"_id", "u1"}, {"_v", int64(1)}}, bson.D{{"_id", "u1"}, {"_v", int64(2)}, {"login", "a"}, {"org", "o"}, {"no", int32(2)}})
	t.Log(r, err)
	r, err = coll.ReplaceOne(ctx, bson.D{{"_id", "u1"}, {"_v", int64(2)}}, bson.D{{"_id", "u1"}, {"_v", int64(3)}, {"login", "b"}, {"org", "o"}, {"no", int32(2)}})
	t.Log(r, err)
	_, err = coll.InsertOne(ctx, bson.D{{"_id", "u3"}, {"_v", int64(1)}, {"login", "c"}, {"org", "o"}, {"no", int32(2)}})
	t.Log("insert dup compound", err)
	cur, _ := coll.Find(ctx, bson.D{})
	var all []bson.M
	cur.All(ctx, &all)
	t.Log(all)
}
