package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
)

func (s *Server) registerUsers() {
	admin := roles(domain.RoleAdmin)
	register(s, huma.Operation{
		OperationID: "createUser", Method: http.MethodPost, Path: "/v1/users", Tags: []string{"users"},
		Summary: "Create an account", DefaultStatus: http.StatusCreated, Errors: []int{409},
	}, admin, s.createUser)
	register(s, huma.Operation{
		OperationID: "listUsers", Method: http.MethodGet, Path: "/v1/users", Tags: []string{"users"},
		Summary: "List accounts by username",
	}, admin, s.listUsers)
	register(s, huma.Operation{
		OperationID: "getUser", Method: http.MethodGet, Path: "/v1/users/{id}", Tags: []string{"users"},
		Summary: "One account", Errors: []int{404},
	}, admin, s.getUser)
	register(s, huma.Operation{
		OperationID: "updateUser", Method: http.MethodPatch, Path: "/v1/users/{id}", Tags: []string{"users"},
		Summary:     "Change an account: disable it, move its territory, change its role or password",
		Description: "Only the fields given change. A change of role or territory makes the user's tablets resync.",
		Errors:      []int{404, 409},
	}, admin, s.updateUser)
}

type createUserInput struct {
	Body struct {
		Username  string      `json:"username" minLength:"3" maxLength:"64" pattern:"^[a-z0-9][a-z0-9._-]+$"`
		Password  string      `json:"password" minLength:"10" maxLength:"256"`
		Role      domain.Role `json:"role" enum:"admin,vet,inspector,farmer,head,oblast_inspection,sanitary_inspector,laboratory"`
		Territory string      `json:"territory,omitempty" pattern:"^[0-9]{9}$" doc:"KATO code; required for vets and inspectors."`
		IIN       string      `json:"iin,omitempty" pattern:"^[0-9]{12}$" doc:"IIN or BIN; required for farmers."`
		FullName  string      `json:"full_name,omitempty" maxLength:"200"`
	}
}

type createdUserOutput struct {
	Location string `header:"Location"`
	Body     UserView
}

// createUser answers POST /v1/users.
func (s *Server) createUser(ctx context.Context, in *createUserInput) (*createdUserOutput, error) {
	b := in.Body
	u, err := s.Accounts.Create(ctx, accounts.NewUser{Username: b.Username, Password: b.Password, Role: b.Role,
		Territory: b.Territory, IIN: b.IIN, FullName: b.FullName})
	if err != nil {
		return nil, err
	}
	return &createdUserOutput{Location: "/v1/users/" + u.ID, Body: viewUser(u).Body}, nil
}

type listUsersInput struct {
	Role   string `query:"role" enum:"admin,vet,inspector,farmer,head,oblast_inspection,sanitary_inspector,laboratory"`
	Cursor string `query:"cursor" maxLength:"512" doc:"next_cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listUsersOutput struct{ Body Page[UserView] }

// listUsers answers GET /v1/users.
func (s *Server) listUsers(ctx context.Context, in *listUsersInput) (*listUsersOutput, error) {
	users, next, err := s.Accounts.List(ctx, accounts.UserFilter{Role: domain.Role(in.Role), After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &listUsersOutput{Body: Page[UserView]{Items: make([]UserView, 0, len(users)), NextCursor: next}}
	for _, u := range users {
		out.Body.Items = append(out.Body.Items, viewUser(u).Body)
	}
	return out, nil
}

type userIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

// getUser answers GET /v1/users/{id}.
func (s *Server) getUser(ctx context.Context, in *userIDInput) (*userOutput, error) {
	u, err := s.Accounts.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return viewUser(u), nil
}

type updateUserInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Disabled  *bool        `json:"disabled,omitempty"`
		Role      *domain.Role `json:"role,omitempty" enum:"admin,vet,inspector,farmer,head,oblast_inspection,sanitary_inspector,laboratory"`
		Territory *string      `json:"territory,omitempty" doc:"KATO code, or empty to clear."`
		IIN       *string      `json:"iin,omitempty" doc:"IIN or BIN, or empty to clear."`
		FullName  *string      `json:"full_name,omitempty" maxLength:"200"`
		Password  *string      `json:"password,omitempty" minLength:"10" maxLength:"256"`
	}
}

// updateUser answers PATCH /v1/users/{id}.
func (s *Server) updateUser(ctx context.Context, in *updateUserInput) (*userOutput, error) {
	b := in.Body
	u, err := s.Accounts.Update(ctx, in.ID, accounts.UserChange{Disabled: b.Disabled, Role: b.Role,
		Territory: b.Territory, IIN: b.IIN, FullName: b.FullName, Password: b.Password})
	if err != nil {
		return nil, err
	}
	return viewUser(u), nil
}
